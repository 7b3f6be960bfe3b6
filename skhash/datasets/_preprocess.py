"""Raw texts to a hashing corpus with the VDSH-line recipe; 20 Newsgroups through scikit-learn."""

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.utils import Bunch, check_random_state


def build_hashing_corpus(train_texts, y_train, test_texts, y_test, *, max_features=10000,
                         min_df=3, max_df=0.8, min_length=6, max_length=500,
                         random_state=0, return_raw=False, vocabulary=None):
    """Turn raw train/test texts into the semantic-hashing corpus format.

    The recipe of the VDSH line of work, as the ``ng20`` corpus README describes it:
    a :class:`~sklearn.feature_extraction.text.CountVectorizer` with English stop words,
    the ``max_features`` most frequent terms with document frequency between ``min_df``
    documents and a ``max_df`` fraction, fitted on the training texts; documents kept only
    with ``min_length`` to ``max_length`` in-vocabulary tokens; the kept test documents
    split at random into validation and test halves (validation gets the extra one), each
    in its original order; sublinear TF-IDF with L2-normalised rows, idf from training.

    Parameters
    ----------
    train_texts, test_texts : sequence of str
        Raw documents.
    y_train, y_test : array-like of shape (n_docs,) or (n_docs, n_labels)
        Class labels (any type; encoded as indices into ``target_names``) or 0/1 label
        indicator matrices.
    max_features : int, default=10000
        Vocabulary size.
    min_df : int, default=3
        Minimum number of training documents a term appears in.
    max_df : float, default=0.8
        Maximum fraction of training documents a term appears in.
    min_length, max_length : int, default=6, 500
        Bounds on a kept document's number of in-vocabulary tokens.
    random_state : int, RandomState instance or None, default=0
        Seeds the validation/test split: ``numpy.random.default_rng(random_state)`` when
        it is an int, as the shared corpora were made.
    return_raw : bool, default=False
        Also return the kept texts as ``raw_{split}``.
    vocabulary : sequence of str or None, default=None
        A fixed vocabulary, column ``i`` being term ``i`` (a shared corpus' ``vocab.txt``,
        say), instead of the ``max_features`` most frequent terms; ``max_features``,
        ``min_df`` and ``max_df`` are then unused. The way to rebuild a published
        corpus exactly on any machine: scikit-learn picks among terms tied in frequency
        at the ``max_features`` cut with NumPy's unstable sort, whose order depends on
        the CPU's vector instructions. On the ``ng20`` recipe 446 training terms tie at
        15 occurrences for the last 149 places; an AVX2-only CPU (2026-12-06) picked
        other ones among them than the machine that built the shared ``vocab.txt``.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X_{split}`` (TF-IDF), ``X_{split}_counts``, ``y_{split}`` for train/val/test,
        ``feature_names``, ``target_names`` (None for indicator labels), ``multilabel``,
        and ``kept_{split}`` (positions of the kept documents in the input, val and test
        both into ``test_texts``).

    Examples
    --------
    >>> from skhash.datasets import build_hashing_corpus, make_topic_corpus
    >>> texts, y = make_topic_corpus(300, n_topics=3, random_state=0)
    >>> data = build_hashing_corpus(texts[:200], y[:200], texts[200:], y[200:],
    ...                             max_features=500)
    >>> data.X_train.shape[0], data.X_val.shape[0] + data.X_test.shape[0]
    (200, 100)
    """
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    if len(train_texts) != len(y_train) or len(test_texts) != len(y_test):
        raise ValueError(
            f"texts and labels differ in length: {len(train_texts)} train texts for "
            f"{len(y_train)} labels, {len(test_texts)} test texts for {len(y_test)} labels."
        )
    multilabel = y_train.ndim == 2
    if multilabel:
        target_names = None
    else:
        target_names, codes = np.unique(np.concatenate([y_train, y_test]), return_inverse=True)
        y_train, y_test = codes[: len(y_train)], codes[len(y_train):]
    if vocabulary is not None:
        vectorizer = CountVectorizer(stop_words="english", vocabulary=list(vocabulary))
    else:
        vectorizer = CountVectorizer(stop_words="english", max_features=max_features,
                                     min_df=min_df, max_df=max_df)
    C_train = vectorizer.fit_transform(train_texts).astype(np.float32)
    C_test = vectorizer.transform(test_texts).astype(np.float32)

    def kept(C):
        length = np.asarray(C.sum(axis=1)).ravel()
        return np.flatnonzero((length >= min_length) & (length <= max_length))

    keep_train, keep_test = kept(C_train), kept(C_test)
    rng = random_state
    if rng is None or isinstance(rng, (int, np.integer)):
        perm = np.random.default_rng(rng).permutation(len(keep_test))
    else:
        perm = check_random_state(rng).permutation(len(keep_test))
    n_val = (len(keep_test) + 1) // 2
    parts = {"train": keep_train,
             "val": keep_test[np.sort(perm[:n_val])],
             "test": keep_test[np.sort(perm[n_val:])]}
    counts = {"train": C_train[keep_train]}
    counts["val"], counts["test"] = C_test[parts["val"]], C_test[parts["test"]]
    tfidf = TfidfTransformer(sublinear_tf=True).fit(counts["train"])
    data = Bunch(feature_names=vectorizer.get_feature_names_out().astype(object),
                 target_names=target_names, multilabel=multilabel)
    for split, rows in parts.items():
        data[f"X_{split}"] = sp.csr_matrix(tfidf.transform(counts[split]), dtype=np.float32)
        data[f"X_{split}_counts"] = sp.csr_matrix(counts[split])
        data[f"y_{split}"] = (y_train if split == "train" else y_test)[rows]
        data[f"kept_{split}"] = rows
        if return_raw:
            texts = train_texts if split == "train" else test_texts
            data[f"raw_{split}"] = [texts[i] for i in rows]
    return data


def fetch_20newsgroups_hashing(*, data_home=None, random_state=0, return_raw=False,
                               download_if_missing=True):
    """20 Newsgroups as a semantic-hashing corpus, through scikit-learn's downloader.

    Downloads (once, into scikit-learn's data home) the "bydate" posts with
    :func:`sklearn.datasets.fetch_20newsgroups`, headers, signatures and quotes removed,
    and applies :func:`build_hashing_corpus` with its defaults: the recipe that made the
    ``ng20`` corpus folder. Needs network the first time; offline, use
    :func:`load_hashing_dataset` on a corpus folder instead.

    Parameters
    ----------
    data_home : str or path-like, default=None
        scikit-learn's download cache (see :func:`sklearn.datasets.get_data_home`).
    random_state : int, default=0
        Seeds the validation/test split.
    return_raw : bool, default=False
        Also return the kept posts (headers removed) as ``raw_{split}``.
    download_if_missing : bool, default=True
        If False, raise an OSError instead of downloading.

    Returns
    -------
    data : sklearn.utils.Bunch
        As :func:`build_hashing_corpus`, with ``name="ng20"``.

    Examples
    --------
    >>> from skhash.datasets import fetch_20newsgroups_hashing
    >>> ng20 = fetch_20newsgroups_hashing()  # doctest: +SKIP
    >>> ng20.X_train.shape  # doctest: +SKIP
    (10257, 10000)
    """
    from sklearn.datasets import fetch_20newsgroups

    parts = [fetch_20newsgroups(subset=subset, remove=("headers", "footers", "quotes"),
                                data_home=data_home, download_if_missing=download_if_missing)
             for subset in ("train", "test")]
    names = np.asarray(parts[0].target_names, dtype=object)
    data = build_hashing_corpus(parts[0].data, names[parts[0].target], parts[1].data,
                                names[parts[1].target], random_state=random_state,
                                return_raw=return_raw)
    data.name = "ng20"
    return data
