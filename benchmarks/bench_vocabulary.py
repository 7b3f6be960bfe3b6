"""NASHHasher on raw text: how the vectorizer's vocabulary sets fit time and precision@100.

What a user's ``Pipeline(TfidfVectorizer(...), NASHHasher())`` meets on a raw corpus: the
training posts of a data folder's ``raw.jsonl.gz`` (its ``split`` field; e-mail headers
stripped, since 20 Newsgroups' name the group) are vectorized with each vocabulary
setting, NASHHasher is fitted at its defaults for each seed, and the test posts query the
training posts (precision@100, relevant = a shared label). Printed per setting: the
vocabulary's size, non-zeros a document, fit seconds (and per epoch), precision@100 mean
± std over the seeds, and, measured in the same run on the same vectors, ITQ at the same
length and full-precision TF-IDF cosine. ``--decoded`` fits each setting again with other
``max_decoded_features`` (``all``: None, every word decoded).

    python benchmarks/bench_vocabulary.py --data ../shared/data/ng20
    python benchmarks/bench_vocabulary.py --data ng20 reuters --vocabularies max10k min_df2 \
        --decoded default all
"""

import argparse
import gzip
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import MultiLabelBinarizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    QUALITY_HEADER, RowWriter, add_fit_options, data_folder, fit_params, fit_summary,
    machine_line, nash_and_itq, quality_cells, report,
)

from skhash.metrics import cosine_precision_at_k  # noqa: E402

#: Vectorizer settings by name: TfidfVectorizer's defaults, then vocabularies cut by
#: document frequency or by size.
VOCABULARIES = {
    "all": {},
    "min_df2": {"min_df": 2},
    "min_df5": {"min_df": 5},
    "max10k": {"max_features": 10000},
    "max20k": {"max_features": 20000},
}

#: A header line of an e-mail or news post ("Name: value").
HEADER = re.compile(r"^[A-Za-z][\w-]*: ")


def strip_headers(text):
    """The body of an e-mail or news post (after the first blank line) where the text
    starts with a header line (``Name: value``); other texts unchanged."""
    return text.partition("\n\n")[2] if HEADER.match(text) else text


def load_raw(folder, text_of=strip_headers):
    """Training and test texts of ``raw.jsonl.gz`` (each passed through ``text_of``) and
    their labels: 1-D class names where every document has one label, else a 0/1
    indicator matrix."""
    texts = {"train": [], "test": []}
    labels = {"train": [], "test": []}
    with gzip.open(Path(folder) / "raw.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            if doc["split"] in texts:
                texts[doc["split"]].append(text_of(doc["text"]))
                labels[doc["split"]].append(tuple(doc["labels"]))
    if all(len(t) == 1 for split in labels.values() for t in split):
        y = {s: np.array([t[0] for t in labels[s]]) for s in labels}
    else:
        binarizer = MultiLabelBinarizer().fit(labels["train"] + labels["test"])
        y = {s: binarizer.transform(labels[s]) for s in labels}
    return texts, y


def decoded_option(value):
    """``--decoded`` values: "default" (the estimator's), "all" (None) or a word count."""
    if value in ("default", "all"):
        return value
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: 'default', 'all' or a count") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: the count must be positive")
    return count


def run(folder, vocabularies, seeds, n_bits=32, params=None, decoded=("default",),
        on_row=None):
    """One row per (vocabulary, decoded words, seed): sizes, fit time, epochs and
    precision@100 of NASHHasher (``params`` on top of its defaults), and of ITQ and cosine
    on the same vectors; each row is also given to ``on_row`` (when set) as its fits
    end."""
    texts, y = load_raw(folder)
    rows = []
    for name in vocabularies:
        vectorizer = TfidfVectorizer(**VOCABULARIES[name])
        X_train = vectorizer.fit_transform(texts["train"])
        X_test = vectorizer.transform(texts["test"])
        cosine = cosine_precision_at_k(X_test, y["test"], X_train, y["train"], k=100)
        for cap, seed in ((cap, seed) for cap in decoded for seed in seeds):
            fit = dict(params or {})
            if cap != "default":
                fit["max_decoded_features"] = None if cap == "all" else cap
            hasher, fit_s, nash, itq_p = nash_and_itq(X_train, y["train"], X_test, y["test"],
                                                      seed, n_bits, **fit)
            n_decoded = (X_train.shape[1] if hasher.decoded_features_ is None
                         else hasher.decoded_features_.shape[0])
            rows.append(dict(dataset=Path(folder).name, vocabulary=name,
                             n_features=X_train.shape[1], n_decoded=n_decoded,
                             nnz_per_doc=X_train.nnz / X_train.shape[0], seed=seed,
                             fit_s=fit_s, epochs=hasher.n_iter_, nash=nash, itq=itq_p,
                             cosine=cosine))
            if on_row is not None:
                on_row(rows[-1])
            print(f"  {Path(folder).name} {name}, {n_decoded} decoded, seed {seed}: "
                  f"fit {fit_s:.1f} s, "
                  f"NASH {nash:.4f}, ITQ {itq_p:.4f}", flush=True)
    return pd.DataFrame(rows)


def table(results):
    """One line per (dataset, vocabulary): means over the seeds."""
    lines = [f"{'dataset':8s} {'vocabulary':10s} {'terms':>7s} {'decoded':>7s} "
             f"{'nnz/doc':>7s} {'fit (s)':>8s} {'s/epoch':>7s}  {QUALITY_HEADER}"]
    keys = ["dataset", "vocabulary", "n_decoded"]
    for (dataset, name, n_decoded), part in results.groupby(keys, sort=False):
        lines.append(
            f"{dataset:8s} {name:10s} {part['n_features'].iloc[0]:7d} {n_decoded:7d} "
            f"{part['nnz_per_doc'].iloc[0]:7.1f} {part['fit_s'].mean():8.1f} "
            f"{(part['fit_s'] / part['epochs']).mean():7.2f}  {quality_cells(part)}")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["ng20"],
                        help="data folders with a raw.jsonl.gz (or names under SKHASH_DATA)")
    parser.add_argument("--vocabularies", nargs="+", default=["max10k", "min_df2", "all"],
                        choices=sorted(VOCABULARIES))
    parser.add_argument("--decoded", nargs="+", type=decoded_option, default=["default"],
                        help="max_decoded_features of the fits: default, all or a count")
    add_fit_options(parser)
    args = parser.parse_args(argv)
    print(machine_line())
    params = fit_params(args)
    print(f"{fit_summary(args, params)}; TfidfVectorizer settings: "
          + "; ".join(f"{n} {VOCABULARIES[n]}" for n in args.vocabularies))
    write = RowWriter(args.out)  # each fit's row as it ends
    frames = [run(data_folder(d), args.vocabularies, args.seeds, args.bits, params,
                  args.decoded, on_row=write) for d in args.data]
    results = pd.concat(frames, ignore_index=True)
    return report(results, table(results))


if __name__ == "__main__":
    main()
