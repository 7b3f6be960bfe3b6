"""
Quick start: NASH codes for 20 Newsgroups posts
===============================================

Reads the raw posts from ``$SKHASH_DATA/ng20/raw.jsonl.gz``, fits
``TfidfVectorizer -> NASHHasher`` on the training posts, prints precision@100 of the test
posts against the training set, and the nearest training posts of one test post.
"""

import gzip
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline

from skhash import NASHHasher
from skhash.metrics import precision_at_k


def load_posts(path):
    """Posts without their headers (which name the newsgroup), with group labels."""
    split = {"train": ([], []), "test": ([], [])}
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            body = doc["text"].partition("\n\n")[2]
            split[doc["split"]][0].append(body)
            split[doc["split"]][1].append(doc["labels"][0])
    return {k: (texts, np.array(labels)) for k, (texts, labels) in split.items()}


def main():
    data = Path(os.environ.get("SKHASH_DATA", "")) / "ng20" / "raw.jsonl.gz"
    if not data.is_file():
        sys.exit(f"{data} not found: set SKHASH_DATA to the folder holding ng20/")
    posts = load_posts(data)
    train_texts, train_labels = posts["train"]
    test_texts, test_labels = posts["test"]

    pipe = Pipeline([
        ("tfidf", TfidfVectorizer(stop_words="english", max_features=10000, min_df=3,
                                  max_df=0.8, sublinear_tf=True)),
        ("hash", NASHHasher(n_bits=32, max_iter=20, random_state=0)),
    ])
    start = time.perf_counter()
    pipe.fit(train_texts)
    print(f"fitted on {len(train_texts)} posts in {time.perf_counter() - start:.1f} s")

    train_codes, test_codes = pipe.transform(train_texts), pipe.transform(test_texts)
    p100 = precision_at_k(test_codes, test_labels, train_codes, train_labels, k=100)
    print(f"precision@100, {len(test_texts)} test posts against the training set: {p100:.3f}")

    query = 5
    dist = (train_codes != test_codes[query]).sum(axis=1)
    nearest = np.argsort(dist, kind="stable")[:5]
    print(f"\nquery ({test_labels[query]}): {' '.join(test_texts[query].split())[:100]}")
    for i in nearest:
        snippet = " ".join(train_texts[i].split())[:90]
        print(f"  {dist[i]:>2} bits  {train_labels[i]:<24} {snippet}")


if __name__ == "__main__":
    main()
