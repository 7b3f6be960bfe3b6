"""NASHHasher's defaults on corpora shaped unlike the shared sets: few documents, short texts.

The defaults were chosen on two corpora of 7,747 and 10,257 training documents of about
50 distinct words each. This script measures them where a user's corpus differs:

- ``--sizes``: random subsets of a data folder's training documents (its TF-IDF vectors,
  ``X_train.npz``; one subset per size, the same for every seed), queried by all its test
  documents;
- ``--samples``: NASHHasher and ITQ fitted on such a subset only, then encoding every
  training document, which the test documents query (a large collection hashed by a
  model trained on a sample of it);
- ``--counts``: the folder's raw term counts (``X_{split}_counts.npz``: what
  ``CountVectorizer`` gives) instead of its TF-IDF vectors, all training documents;
- titles (unless ``--no-titles``): each document of the folder's ``raw.jsonl.gz`` cut to
  its title, the ``Subject`` line of an e-mail or news post (leading "Re:"s removed), or
  else the text's first line (Reuters' headlines), vectorized by a default
  ``TfidfVectorizer`` fitted on the training titles (the file's ``split`` field); the test
  titles query the training titles.

Printed per setting: training documents, those the hashers were fitted on, distinct
words a document, documents without a known word (training / test), fit seconds,
NASHHasher's precision@100 (mean ± std over the seeds) and, in the same run on the same
vectors, ITQ at the same length and full-precision cosine. Where a query has fewer than
100 relevant training documents its precision@100 is capped below 1 for every method
alike: compare methods within a row, not across rows.

    python benchmarks/bench_corpus_shape.py --data ng20 reuters
    python benchmarks/bench_corpus_shape.py --data ng20 --sizes 1000 all --no-titles
    python benchmarks/bench_corpus_shape.py --data ng20 reuters --sizes --samples 1000 2500 \
        --no-titles
    python benchmarks/bench_corpus_shape.py --data ng20 reuters --sizes --counts --no-titles
    python benchmarks/bench_corpus_shape.py --data ng20 reuters \
        --params target_neighbors=100 neighbor_weight=10   # another setting than the defaults
"""

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    QUALITY_HEADER, RowWriter, add_fit_options, data_folder, fit_params, fit_summary,
    load_corpus, load_split, machine_line, nash_and_itq, quality_cells, report,
)
from bench_vocabulary import HEADER, load_raw  # noqa: E402

from skhash.metrics import cosine_precision_at_k  # noqa: E402

#: Seed of the training subsets (one subset per size, whatever the fits' seeds).
SUBSET_SEED = 12345

_SUBJECT = re.compile(r"^Subject:[ \t]*(.*)$", re.MULTILINE | re.IGNORECASE)
_REPLY = re.compile(r"^(\s*re\s*:\s*)+", re.IGNORECASE)


def title_of(text):
    """A document's title: the ``Subject`` header of a post whose text starts with
    headers (leading "Re:"s removed; empty if it has none), else its first line."""
    if HEADER.match(text):
        header = text.partition("\n\n")[0]
        found = _SUBJECT.search(header)
        return _REPLY.sub("", found.group(1)).strip() if found else ""
    return text.split("\n", 1)[0].strip()


def size_option(value):
    """``--sizes`` values: "all" or a positive number of training documents."""
    if value == "all":
        return value
    try:
        size = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: 'all' or a number of documents") from None
    if size < 2:
        raise argparse.ArgumentTypeError(f"{value!r}: at least 2 documents")
    return size


def training_subset(n_total, size, seed=SUBSET_SEED):
    """Ascending row indices of ``size`` training documents drawn without replacement
    (all ``n_total`` for "all"), or a SystemExit if there are not that many."""
    if size == "all":
        return np.arange(n_total)
    if size > n_total:
        raise SystemExit(f"--sizes {size}: the training set has only {n_total} documents")
    return np.sort(np.random.RandomState(seed).permutation(n_total)[:size])


def evaluate(setting, dataset, X_train, y_train, X_test, y_test, seeds, n_bits, params,
             fit_rows=None, on_row=None):
    """NASHHasher (``params`` on top of its defaults; each seed), ITQ (each seed) and
    cosine on one train/test pair, the hashers fitted on the training rows or on
    ``fit_rows`` of them: a row per seed, each also given to ``on_row`` (when set) as
    its fits end."""
    cosine = cosine_precision_at_k(X_test, y_test, X_train, y_train, k=100)
    n_fit = X_train.shape[0] if fit_rows is None else len(fit_rows)
    shape = dict(dataset=dataset, setting=setting, n_train=X_train.shape[0], n_fit=n_fit,
                 nnz_per_doc=X_train.nnz / X_train.shape[0],
                 empty_train=int((X_train.getnnz(axis=1) == 0).sum()),
                 empty_test=int((X_test.getnnz(axis=1) == 0).sum()), cosine=cosine)
    rows = []
    for seed in seeds:
        hasher, fit_s, nash, itq_p = nash_and_itq(X_train, y_train, X_test, y_test, seed,
                                                  n_bits, fit_rows, **params)
        rows.append(dict(shape, seed=seed, fit_s=fit_s, epochs=hasher.n_iter_, nash=nash,
                         itq=itq_p))
        if on_row is not None:
            on_row(rows[-1])
        print(f"  {dataset} {setting}, seed {seed}: fit {fit_s:.1f} s, NASH {nash:.4f}, "
              f"ITQ {itq_p:.4f}, cosine {cosine:.4f}", flush=True)
    return rows


def run_subsets(folder, sizes, seeds, n_bits=32, params=None, search_all=False,
                on_row=None):
    """Rows of :func:`evaluate` for each training subset size: the hashers fitted on the
    subset, which is the database (``docs=size``), or, with ``search_all``, the whole
    training set encoded and searched (``sample=size``)."""
    X_train, y_train, X_test, y_test = load_corpus(folder, "test")
    rows = []
    for size in sizes:
        keep = training_subset(X_train.shape[0], size)
        if search_all:
            rows += evaluate(f"sample={size}", Path(folder).name, X_train, y_train, X_test,
                             y_test, seeds, n_bits, params or {}, fit_rows=keep,
                             on_row=on_row)
        else:
            rows += evaluate(f"docs={size}", Path(folder).name, X_train[keep], y_train[keep],
                             X_test, y_test, seeds, n_bits, params or {}, on_row=on_row)
    return rows


def run_counts(folder, seeds, n_bits=32, params=None, on_row=None):
    """Rows of :func:`evaluate` for the folder's raw term counts."""
    X_train, y_train = load_split(folder, "train", counts=True)
    X_test, y_test = load_split(folder, "test", counts=True)
    return evaluate("counts", Path(folder).name, X_train, y_train, X_test, y_test, seeds,
                    n_bits, params or {}, on_row=on_row)


def run_titles(folder, seeds, n_bits=32, params=None, on_row=None):
    """Rows of :func:`evaluate` for the documents' titles (:func:`title_of`)."""
    texts, y = load_raw(folder, text_of=title_of)
    vectorizer = TfidfVectorizer()
    X_train = vectorizer.fit_transform(texts["train"])
    X_test = vectorizer.transform(texts["test"])
    return evaluate("titles", Path(folder).name, X_train, y["train"], X_test, y["test"], seeds,
                    n_bits, params or {}, on_row=on_row)


def table(results):
    """One line per (dataset, setting): means over the seeds."""
    lines = [f"{'dataset':8s} {'setting':11s} {'docs':>6s} {'fitted':>6s} {'nnz/doc':>7s} "
             f"{'empty':>9s} {'fit (s)':>7s}  {QUALITY_HEADER}"]
    for (dataset, setting), part in results.groupby(["dataset", "setting"], sort=False):
        first = part.iloc[0]
        empty = f"{first['empty_train']}/{first['empty_test']}"
        lines.append(
            f"{dataset:8s} {setting:11s} {first['n_train']:6d} {first['n_fit']:6d} "
            f"{first['nnz_per_doc']:7.1f} {empty:>9s} {part['fit_s'].mean():7.1f}  "
            f"{quality_cells(part)}")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["ng20"],
                        help="data folders (or names under SKHASH_DATA); titles need a "
                             "raw.jsonl.gz there")
    parser.add_argument("--sizes", nargs="*", type=size_option,
                        default=[500, 1000, 2500, 5000, "all"],
                        help="training subset sizes (none: skip)")
    parser.add_argument("--samples", nargs="*", type=size_option, default=[],
                        help="sizes of the subsets the hashers are fitted on, every "
                             "training document encoded (default: none)")
    parser.add_argument("--counts", action="store_true",
                        help="also fit the raw term counts (X_{split}_counts.npz)")
    parser.add_argument("--no-titles", dest="titles", action="store_false",
                        help="skip the titles")
    add_fit_options(parser)
    args = parser.parse_args(argv)
    print(machine_line())
    params = fit_params(args)
    print(f"{fit_summary(args, params)}; training subsets "
          f"{args.sizes}, fitted on subsets {args.samples} (subset seed {SUBSET_SEED}); "
          f"counts: {args.counts}; titles: {args.titles}")
    rows = []
    write = RowWriter(args.out)  # each fit's row as it ends
    for name in args.data:
        folder = data_folder(name)
        rows += run_subsets(folder, args.sizes, args.seeds, args.bits, params, on_row=write)
        rows += run_subsets(folder, args.samples, args.seeds, args.bits, params,
                            search_all=True, on_row=write)
        if args.counts:
            rows += run_counts(folder, args.seeds, args.bits, params, on_row=write)
        if args.titles:
            rows += run_titles(folder, args.seeds, args.bits, params, on_row=write)
    results = pd.DataFrame(rows)
    return report(results, table(results))


if __name__ == "__main__":
    main()
