"""Corpora for semantic hashing: folders on disk, 20 Newsgroups, and a synthetic generator.

- :func:`load_hashing_dataset` reads a corpus folder (``X_{split}.npz``, ``y_{split}.npy``,
  ``vocab.txt``, optional ``raw.jsonl.gz``), named under :func:`get_data_home`
  (``SKHASH_DATA``) or given as a path;
- :func:`build_hashing_corpus` turns raw texts into that format with the VDSH-line recipe,
  and :func:`fetch_20newsgroups_hashing` applies it to scikit-learn's 20 Newsgroups
  download (network needed once);
- :func:`make_topic_corpus` generates a labelled corpus of raw texts offline, and
  :func:`load_example_corpus` gives the examples a small corpus: an ng20 slice when the
  data home has one, else a generated one.
"""

from ._folder import get_data_home, load_example_corpus, load_hashing_dataset
from ._preprocess import build_hashing_corpus, fetch_20newsgroups_hashing
from ._synthetic import make_topic_corpus

__all__ = [
    "build_hashing_corpus",
    "fetch_20newsgroups_hashing",
    "get_data_home",
    "load_example_corpus",
    "load_hashing_dataset",
    "make_topic_corpus",
]
