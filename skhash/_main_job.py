"""The package's main job, end to end: ``python -m skhash [--quick] [--data FOLDER]``.

Trains NASH on 20 Newsgroups, prints precision@100 of its codes beside random-hyperplane
LSH at the same length and full-precision TF-IDF cosine, times the Hamming search, and
shows the nearest neighbours of a few test posts as text, so a person can see that the
codes mean something.

The corpus comes from ``--data`` (a folder in the corpus format, see
:func:`skhash.datasets.load_hashing_dataset`), else from ``$SKHASH_DATA/ng20`` when
``SKHASH_DATA`` is set, else from :func:`skhash.datasets.fetch_20newsgroups_hashing`
(scikit-learn's download; needs network once).
"""

import argparse
import os
import re
import textwrap
import time
from pathlib import Path

import numpy as np

from . import HammingNeighbors, NASHHasher
from .baselines import LSHHasher
from .datasets import fetch_20newsgroups_hashing, load_hashing_dataset
from .metrics import cosine_precision_at_k, precision_at_k

_HEADER_LINE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*: ")


def snippet(text, width=150):
    """One line of a document for display: mail headers and quoted lines dropped."""
    lines = text.splitlines()
    if lines and _HEADER_LINE.match(lines[0]) and "" in lines:  # a header block
        subject = next((line[9:] for line in lines if line.startswith("Subject: ")), "")
        lines = [subject] + lines[lines.index(""):]
    body = " ".join(line for line in lines if not line.lstrip().startswith((">", "|"))
                    and not line.rstrip().endswith(("writes:", "wrote:")))
    return textwrap.shorten(" ".join(body.split()), width=width, placeholder=" ...") or "(empty)"


def _load(data):
    if data is None and os.environ.get("SKHASH_DATA"):
        data = Path(os.environ["SKHASH_DATA"]) / "ng20"
    if data is not None:
        try:
            corpus = load_hashing_dataset(data, splits=("train", "test"), return_raw=True)
        except FileNotFoundError:  # no raw texts (or no corpus: then this raises again)
            corpus = load_hashing_dataset(data, splits=("train", "test"))
        return corpus, f"{corpus.folder}"
    corpus = fetch_20newsgroups_hashing(return_raw=True)
    return corpus, "sklearn.datasets.fetch_20newsgroups (recipe of skhash.datasets)"


def _label_names(corpus, y):
    names = corpus.target_names
    if y.ndim == 2:
        return ",".join(str(names[j]) if names is not None else str(j) for j in np.flatnonzero(y))
    return str(names[y]) if names is not None else str(y)


def main(argv=None):
    """Run the main job; ``argv`` as on the command line (``--help`` lists the options).

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments; None reads ``sys.argv``.

    Returns
    -------
    results : dict
        The measured precision@100 per method and the neighbour lists.

    Examples
    --------
    >>> from skhash._main_job import main
    >>> main(["--quick"])  # doctest: +SKIP
    """
    parser = argparse.ArgumentParser(
        prog="python -m skhash", description=__doc__.splitlines()[0],
        epilog="Data: --data FOLDER, else $SKHASH_DATA/ng20, else fetch_20newsgroups.",
    )
    parser.add_argument("--data", help="corpus folder (format of skhash.datasets)")
    parser.add_argument("--bits", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=None,
                        help="training epochs (default: NASHHasher's max_iter=50)")
    parser.add_argument("--quick", action="store_true", help="15 epochs: about a minute")
    parser.add_argument("--queries", type=int, default=3, help="test posts to show")
    parser.add_argument("--neighbors", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    epochs = args.epochs or (15 if args.quick else None)
    started = time.perf_counter()

    corpus, source = _load(args.data)
    X_train, y_train, X_test, y_test = corpus.X_train, corpus.y_train, corpus.X_test, corpus.y_test
    print(f"corpus: {source}")
    print(f"        {X_train.shape[0]} training documents (the database), {X_test.shape[0]} "
          f"test documents (the queries), {X_train.shape[1]} terms, TF-IDF")

    nash = NASHHasher(args.bits, random_state=args.seed,
                      **({"max_iter": epochs} if epochs else {}))
    start = time.perf_counter()
    nash.fit(X_train)
    print(f"\nNASHHasher(n_bits={args.bits}): {nash.n_iter_} epochs in "
          f"{time.perf_counter() - start:.1f} s")
    db_codes, query_codes = nash.transform(X_train), nash.transform(X_test)
    lsh = LSHHasher(args.bits, random_state=args.seed).fit(X_train)
    k = min(100, X_train.shape[0])
    results = {
        f"NASH, {args.bits} bits": precision_at_k(query_codes, y_test, db_codes, y_train, k=k),
        f"LSH (random hyperplanes), {args.bits} bits": precision_at_k(
            lsh.transform(X_test), y_test, lsh.transform(X_train), y_train, k=k),
        f"TF-IDF cosine, {X_train.shape[1]} floats": cosine_precision_at_k(
            X_test, y_test, X_train, y_train, k=k),
    }
    print(f"\nprecision@{k}, each test document querying the training set "
          "(relevant: shares a label):")
    for name, value in results.items():
        print(f"  {name:<42} {value:.3f}")

    index = HammingNeighbors(n_neighbors=args.neighbors).fit(db_codes)
    index.kneighbors(query_codes[:1])  # compiles the search kernels, outside the timing
    start = time.perf_counter()
    dist, ind = index.kneighbors(query_codes)
    elapsed = time.perf_counter() - start
    print(f"\nHamming search: {args.neighbors} nearest of {X_train.shape[0]} codes for "
          f"{X_test.shape[0]} queries in {elapsed * 1e3:.1f} ms "
          f"({X_test.shape[0] / max(elapsed, 1e-9):,.0f} queries/s)")

    rng = np.random.default_rng(args.seed)
    shown = rng.choice(X_test.shape[0], size=min(args.queries, X_test.shape[0]), replace=False)
    raw_test, raw_train = corpus.get("raw_test"), corpus.get("raw_train")
    print(f"\nnearest neighbours of {len(shown)} test documents (Hamming distance, label, text):")
    for q in shown:
        text = snippet(raw_test[q]) if raw_test else f"test document {q}"
        print(f"\n  QUERY [{_label_names(corpus, y_test[q])}] {text}")
        for d, j in zip(dist[q], ind[q]):
            text = snippet(raw_train[j], 120) if raw_train else f"training document {j}"
            print(f"    {d:>3} [{_label_names(corpus, y_train[j])}] {text}")
    print(f"\ndone in {time.perf_counter() - started:.0f} s")
    return {"precision": results, "queries": shown, "distances": dist[shown],
            "neighbors": ind[shown]}
