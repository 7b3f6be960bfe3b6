"""Corpora in the hashing folder format: X_{split}.npz, y_{split}.npy, vocab.txt, raw.jsonl.gz."""

import gzip
import json
import os
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.utils import Bunch

SPLITS = ("train", "val", "test")


def get_data_home(data_home=None):
    """The folder that holds the hashing corpora.

    ``data_home`` when given, else the ``SKHASH_DATA`` environment variable, else
    ``~/skhash_data`` (as :func:`sklearn.datasets.get_data_home` does for scikit-learn's
    fetchers). Nothing is created or downloaded.

    Parameters
    ----------
    data_home : str or path-like, default=None
        An explicit folder.

    Returns
    -------
    path : pathlib.Path
        The folder, user (``~``) expanded.

    Examples
    --------
    >>> from skhash.datasets import get_data_home
    >>> str(get_data_home("/data/corpora"))
    '/data/corpora'
    """
    if data_home is None:
        data_home = os.environ.get("SKHASH_DATA", Path("~") / "skhash_data")
    return Path(data_home).expanduser()


def _resolve_folder(name_or_path, data_home):
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    home = get_data_home(data_home)
    if (home / str(name_or_path)).is_dir():
        return home / str(name_or_path)
    raise FileNotFoundError(
        f"No corpus folder {name_or_path!r}: neither a folder itself nor one under the data "
        f"home {home} (give a path, pass data_home=..., or set SKHASH_DATA)."
    )


def _need(folder, name):
    path = folder / name
    if not path.is_file():
        raise FileNotFoundError(f"{folder}: the corpus has no {name} (expected {path}).")
    return path


def _read_lines(path):
    return np.array(path.read_text(encoding="utf-8").splitlines(), dtype=object)


def _read_raw(folder):
    """The ``text`` of every line of ``raw.jsonl.gz``, in order."""
    texts = []
    with gzip.open(_need(folder, "raw.jsonl.gz"), "rt", encoding="utf-8") as fh:
        for number, line in enumerate(fh):
            try:
                texts.append(json.loads(line)["text"])
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(
                    f"{folder / 'raw.jsonl.gz'}: line {number + 1} is not a JSON object with a "
                    f"'text' field ({exc})."
                ) from exc
    return texts


def load_hashing_dataset(name_or_path, *, data_home=None, splits=SPLITS, counts=False,
                         return_raw=False):
    """Load a corpus stored in the hashing folder format.

    The format of the corpora under ``SKHASH_DATA`` (each folder's README documents it):
    ``X_{split}.npz`` (sparse TF-IDF, rows L2-normalised) and ``X_{split}_counts.npz``
    (term counts), ``y_{split}.npy`` (class indices, or a 0/1 indicator matrix for
    multi-label corpora), ``vocab.txt`` (one term per column), ``labels.txt`` (one name
    per class or label column), and optionally ``ids_{split}.npy`` with ``raw.jsonl.gz``
    (the original texts, one JSON object per line).

    Parameters
    ----------
    name_or_path : str or path-like
        A folder, or the name of one under the data home (``"ng20"``, ``"reuters"``).
    data_home : str or path-like, default=None
        Where named corpora live; default ``SKHASH_DATA`` (see :func:`get_data_home`).
    splits : sequence of {"train", "val", "test"}, default=("train", "val", "test")
        Splits to load.
    counts : bool, default=False
        Load the raw term counts instead of the TF-IDF weights.
    return_raw : bool, default=False
        Also return each document's original text (``raw_{split}``: list of str).

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X_{split}`` (CSR float32, n_docs x n_terms) and ``y_{split}`` for each split;
        ``raw_{split}`` with ``return_raw``; ``feature_names`` (the vocabulary),
        ``target_names``, ``multilabel``, ``name``, ``folder`` and ``DESCR`` (the README).

    Raises
    ------
    FileNotFoundError
        The folder or one of the files it needs is missing (the message names it).
    ValueError
        The files disagree: rows of X and y, columns of X and the vocabulary, labels and
        ``labels.txt``, or text ids outside ``raw.jsonl.gz``.

    See Also
    --------
    fetch_20newsgroups_hashing : Builds the ng20 corpus from scikit-learn's downloader.

    Examples
    --------
    >>> from skhash.datasets import load_hashing_dataset
    >>> ng20 = load_hashing_dataset("ng20", splits=["test"])  # doctest: +SKIP
    >>> ng20.X_test.shape, ng20.target_names[0]  # doctest: +SKIP
    ((3406, 10000), 'alt.atheism')
    """
    folder = _resolve_folder(name_or_path, data_home)
    unknown = sorted(set(splits) - set(SPLITS))
    if unknown or not len(splits):
        raise ValueError(f"splits must be a non-empty subset of {SPLITS}, got {list(splits)!r}.")
    feature_names = _read_lines(_need(folder, "vocab.txt"))
    labels_path = folder / "labels.txt"
    target_names = _read_lines(labels_path) if labels_path.is_file() else None
    readme = next((p for p in (folder / "README.md", folder / "README.rst", folder / "README")
                   if p.is_file()), None)
    data = Bunch(name=folder.name, folder=folder, feature_names=feature_names,
                 target_names=target_names, DESCR=readme.read_text() if readme else "")
    raw = _read_raw(folder) if return_raw else None
    multilabel = None
    for split in splits:
        X = sp.load_npz(_need(folder, f"X_{split}{'_counts' if counts else ''}.npz"))
        X = sp.csr_matrix(X, dtype=np.float32)
        y = np.load(_need(folder, f"y_{split}.npy"))
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"{folder}: X_{split} has {X.shape[0]} rows but y_{split} has "
                             f"{y.shape[0]}.")
        if X.shape[1] != len(feature_names):
            raise ValueError(f"{folder}: X_{split} has {X.shape[1]} columns but vocab.txt has "
                             f"{len(feature_names)} terms.")
        n_classes = y.shape[1] if y.ndim == 2 else (int(y.max()) + 1 if y.size else 0)
        if target_names is not None and n_classes > len(target_names):
            raise ValueError(f"{folder}: y_{split} has {n_classes} classes but labels.txt "
                             f"names {len(target_names)}.")
        multilabel = y.ndim == 2
        data[f"X_{split}"], data[f"y_{split}"] = X, y
        if return_raw:
            ids = np.load(_need(folder, f"ids_{split}.npy"))
            if len(ids) != X.shape[0] or (len(ids) and (ids.min() < 0 or ids.max() >= len(raw))):
                raise ValueError(f"{folder}: ids_{split}.npy does not map the {X.shape[0]} rows "
                                 f"into the {len(raw)} texts of raw.jsonl.gz.")
            data[f"raw_{split}"] = [raw[i] for i in ids]
    data.multilabel = multilabel
    return data


def load_example_corpus(*, n_train=3000, n_test=500, data_home=None, random_state=0):
    """A small train/test corpus with raw texts, for examples: real when available.

    A random slice of the ``ng20`` corpus folder under the data home (``SKHASH_DATA``)
    when there is one; otherwise a corpus generated offline by
    :func:`make_topic_corpus` (8 topics) and :func:`build_hashing_corpus`, in the same
    format. Either way the examples run anywhere and say which they used.

    Parameters
    ----------
    n_train, n_test : int, default=3000, 500
        Documents in the database (training) and query (test) parts; fewer if the
        corpus has fewer.
    data_home : str or path-like, default=None
        Where to look for ``ng20`` (see :func:`get_data_home`).
    random_state : int, default=0
        Seeds the slice (or the generator).

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X_train``, ``y_train``, ``raw_train``, ``X_test``, ``y_test``, ``raw_test``,
        ``target_names``, and ``source``, a one-line description of where it came from.

    Examples
    --------
    >>> from skhash.datasets import load_example_corpus
    >>> data = load_example_corpus(n_train=200, n_test=50, data_home="/nonexistent")
    >>> data.X_train.shape[0], data.X_test.shape[0], len(data.raw_test)
    (200, 50, 50)
    >>> data.source
    'make_topic_corpus: 8 generated topics (no ng20 folder under /nonexistent)'
    """
    from ._preprocess import build_hashing_corpus
    from ._synthetic import make_topic_corpus

    home = get_data_home(data_home)
    rng = np.random.default_rng(random_state)
    if (home / "ng20" / "X_train.npz").is_file():
        full = load_hashing_dataset(home / "ng20", splits=("train", "test"), return_raw=True)
        data = Bunch(target_names=full.target_names,
                     source=f"20 Newsgroups, a random slice of {home / 'ng20'}")
        for split, n in (("train", n_train), ("test", n_test)):
            X = full[f"X_{split}"]
            rows = np.sort(rng.choice(X.shape[0], size=min(n, X.shape[0]), replace=False))
            data[f"X_{split}"], data[f"y_{split}"] = X[rows], full[f"y_{split}"][rows]
            data[f"raw_{split}"] = [full[f"raw_{split}"][i] for i in rows]
        return data
    n_topics = 8
    texts, y = make_topic_corpus(n_train + 2 * n_test, n_topics, random_state=random_state)
    names = np.array([f"topic {t}" for t in range(n_topics)], dtype=object)
    built = build_hashing_corpus(texts[:n_train], names[y[:n_train]], texts[n_train:],
                                 names[y[n_train:]], max_features=2000, min_length=1,
                                 random_state=random_state, return_raw=True)
    return Bunch(X_train=built.X_train, y_train=built.y_train, raw_train=built.raw_train,
                 X_test=built.X_test, y_test=built.y_test, raw_test=built.raw_test,
                 target_names=built.target_names,
                 source=f"make_topic_corpus: {n_topics} generated topics "
                        f"(no ng20 folder under {home})")
