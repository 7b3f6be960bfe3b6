"""Model selection on raw 20 Newsgroups posts: GridSearchCV over n_bits, cross_val_score.

What a user does: ``Pipeline(TfidfVectorizer, hasher)`` on raw text, a grid over
``hash__n_bits`` scored by leave-one-out precision@100 within each fold, 3-fold CV, for
both hashers, with ``n_jobs=1`` and ``n_jobs=2``. Prints ``cv_results_`` as a table, the
best n_bits and the wall time of each whole search.

    python benchmarks/bench_model_selection.py --data ../shared/data/ng20 --n-docs 5000
"""

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import data_folder, machine_line  # noqa: E402

from skhash import NASHHasher, SupervisedNASHHasher  # noqa: E402
from skhash.metrics import precision_at_k_scorer  # noqa: E402


def load_raw(folder, n_docs, seed):
    """``n_docs`` training posts, headers stripped (they name the group), and labels."""
    texts, labels = [], []
    with gzip.open(folder / "raw.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            if doc["split"] == "train":
                texts.append(doc["text"].partition("\n\n")[2])
                labels.append(doc["labels"][0])
    pick = np.sort(np.random.default_rng(seed).choice(len(texts), n_docs, replace=False))
    return [texts[i] for i in pick], np.array(labels)[pick]


def pipeline(hasher):
    return Pipeline([
        ("tfidf", TfidfVectorizer(stop_words="english", max_features=10000, min_df=2,
                                  max_df=0.8, sublinear_tf=True)),
        ("hash", hasher),
    ])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="ng20")
    parser.add_argument("--n-docs", type=int, default=5000)
    parser.add_argument("--bits", nargs="+", type=int, default=[8, 16, 32, 64, 128])
    parser.add_argument("--n-jobs", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--hashers", nargs="+", default=["NASHHasher", "SupervisedNASHHasher"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    texts, labels = load_raw(data_folder(args.data), args.n_docs, args.seed)
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} | {machine_line()}")
    print(f"# {len(texts)} raw ng20 posts, {len(set(labels))} groups, grid n_bits={args.bits}, "
          f"cv=3, scoring precision@100 within the fold\n")
    cv = StratifiedKFold(3, shuffle=True, random_state=args.seed)
    scorer = precision_at_k_scorer(100)
    hashers = {"NASHHasher": NASHHasher, "SupervisedNASHHasher": SupervisedNASHHasher}
    for name in args.hashers:
        for n_jobs in args.n_jobs:
            search = GridSearchCV(pipeline(hashers[name](random_state=args.seed)),
                                  {"hash__n_bits": args.bits}, scoring=scorer, cv=cv,
                                  n_jobs=n_jobs)
            start = time.perf_counter()
            search.fit(texts, labels)
            wall = time.perf_counter() - start
            table = pd.DataFrame(search.cv_results_)[
                ["param_hash__n_bits", "mean_test_score", "std_test_score", "rank_test_score",
                 "mean_fit_time"]]
            print(f"## {name}, n_jobs={n_jobs}: whole search {wall:.1f} s, best "
                  f"n_bits={search.best_params_['hash__n_bits']} "
                  f"(precision@100 {search.best_score_:.4f})")
            print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}") + "\n")
        start = time.perf_counter()
        scores = cross_val_score(pipeline(hashers[name](n_bits=32, random_state=args.seed)),
                                 texts, labels, scoring=scorer, cv=cv)
        print(f"## {name} cross_val_score (32 bits): {np.round(scores, 4).tolist()} mean "
              f"{scores.mean():.4f} ({time.perf_counter() - start:.1f} s)\n")


if __name__ == "__main__":
    main()
