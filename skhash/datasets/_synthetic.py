"""make_topic_corpus: an offline, labelled corpus of raw texts drawn from topic word distributions."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

_CONSONANTS = list("bcdfghklmnprstvz")
_VOWELS = list("aeiou")


def _pseudo_words(n, rng):
    """``n`` distinct pronounceable lowercase words of 2 to 4 syllables."""
    words = set()
    while len(words) < n:
        syllables = rng.randint(2, 5)
        words.add("".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS)
                          for _ in range(syllables)))
    return sorted(words)


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_topics": [Interval(Integral, 1, None, closed="left")],
        "words_per_topic": [Interval(Integral, 1, None, closed="left")],
        "n_common_words": [Interval(Integral, 0, None, closed="left")],
        "doc_length": [tuple],
        "topic_share": [Interval(Real, 0, 1, closed="both")],
        "multilabel": ["boolean"],
        "max_labels": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_topic_corpus(n_samples=1000, n_topics=5, *, words_per_topic=60, n_common_words=200,
                      doc_length=(20, 100), topic_share=0.1, multilabel=False, max_labels=2,
                      random_state=None):
    """Generate raw texts from topic word distributions, with their labels.

    A vocabulary of pronounceable pseudo-words is split into one block per topic and a
    block of common words shared by all. Each document draws its length uniformly from
    ``doc_length``; a ``topic_share`` fraction of its words (on average) come from its
    topics' blocks, the rest from the common block, each block with Zipf-like word
    frequencies. Documents of one topic therefore share vocabulary without being copies,
    so retrieval by topic is learnable but not trivial: an offline stand-in for a real
    corpus in examples and tests.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of documents.
    n_topics : int, default=5
        Number of topics (classes).
    words_per_topic : int, default=60
        Size of each topic's word block.
    n_common_words : int, default=200
        Size of the block shared by all topics.
    doc_length : tuple of (int, int), default=(20, 100)
        Inclusive range of document lengths in words.
    topic_share : float, default=0.1
        Expected fraction of a document's words drawn from its topics.
    multilabel : bool, default=False
        If True, each document has 1 to ``max_labels`` topics, its topic words spread
        evenly over them, and ``y`` is a 0/1 indicator matrix.
    max_labels : int, default=2
        Most topics per document when ``multilabel``.
    random_state : int, RandomState instance or None, default=None
        Seeds everything (vocabulary included).

    Returns
    -------
    texts : list of str
        The documents, words separated by spaces.
    y : ndarray of shape (n_samples,) or (n_samples, n_topics)
        Topic index per document, or the 0/1 topic indicator matrix (uint8).

    Examples
    --------
    >>> from skhash.datasets import make_topic_corpus
    >>> texts, y = make_topic_corpus(4, n_topics=2, doc_length=(5, 5), random_state=0)
    >>> len(texts), y.shape, len(texts[0].split())
    (4, (4,), 5)
    >>> texts, Y = make_topic_corpus(6, n_topics=3, multilabel=True, random_state=0)
    >>> Y.shape, bool(Y.sum(axis=1).min() >= 1)
    ((6, 3), True)
    """
    low, high = (doc_length + (None, None))[:2]
    if not (isinstance(low, Integral) and isinstance(high, Integral) and 1 <= low <= high):
        raise ValueError(f"doc_length must be (low, high) ints with 1 <= low <= high, "
                         f"got {doc_length!r}.")
    if n_common_words == 0 and topic_share < 1:
        raise ValueError("n_common_words=0 needs topic_share=1: the other words have no block.")
    rng = check_random_state(random_state)
    vocab = np.array(_pseudo_words(n_topics * words_per_topic + n_common_words, rng))
    vocab = vocab[rng.permutation(len(vocab))]
    topic_blocks = vocab[: n_topics * words_per_topic].reshape(n_topics, words_per_topic)
    common = vocab[n_topics * words_per_topic:]

    def zipf(n):
        weights = 1.0 / np.arange(1, n + 1)
        return weights / weights.sum()

    topic_p, common_p = zipf(words_per_topic), zipf(n_common_words) if n_common_words else None
    if multilabel:
        Y = np.zeros((n_samples, n_topics), dtype=np.uint8)
        for i in range(n_samples):
            k = rng.randint(1, min(max_labels, n_topics) + 1)
            Y[i, rng.choice(n_topics, size=k, replace=False)] = 1
    else:
        y = rng.randint(n_topics, size=n_samples)
    texts = []
    for i in range(n_samples):
        topics = np.flatnonzero(Y[i]) if multilabel else [y[i]]
        length = rng.randint(low, high + 1)
        from_topics = rng.binomial(length, topic_share)
        chosen = rng.choice(topics, size=from_topics)
        words = list(topic_blocks[chosen, rng.choice(words_per_topic, size=from_topics,
                                                      p=topic_p)])
        if length > from_topics:
            words += list(common[rng.choice(n_common_words, size=length - from_topics,
                                            p=common_p)])
        texts.append(" ".join(np.asarray(words)[rng.permutation(length)]))
    return texts, (Y if multilabel else y)
