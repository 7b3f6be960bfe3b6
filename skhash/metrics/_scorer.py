"""A cross-validation scorer for hashers: precision@k within the evaluated fold."""

from ._retrieval import precision_at_k


class PrecisionAtKScorer:
    """Callable ``scorer(estimator, X, y)``: leave-one-out precision@k of the fold.

    Made by :func:`precision_at_k_scorer`; a plain class, so it pickles and works with
    ``n_jobs > 1``.

    Parameters
    ----------
    k : int, default=100
        Neighbours per document.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.baselines import LSHHasher
    >>> from skhash.metrics import PrecisionAtKScorer
    >>> X = np.vstack([np.eye(4)[[0, 0, 1, 1]] + 0.01, np.eye(4)[[2, 2, 3, 3]] + 0.01])
    >>> hasher = LSHHasher(n_bits=16, random_state=0).fit(X)
    >>> float(PrecisionAtKScorer(k=1)(hasher, X, [0, 0, 1, 1, 2, 2, 3, 3]))
    1.0
    """

    def __init__(self, k=100):
        self.k = k

    def __call__(self, estimator, X, y):
        codes = estimator.transform(X)
        return precision_at_k(codes, y, k=self.k)

    def __repr__(self):
        return f"precision_at_k_scorer(k={self.k})"


def precision_at_k_scorer(k=100):
    """Scorer for ``cross_val_score`` and ``GridSearchCV``: precision@k of the codes.

    The estimator (a hasher, or a pipeline ending in one) transforms the evaluated
    fold's X to codes; each document queries the other documents of the same fold,
    leaving itself out, and the precision of its ``k`` nearest by Hamming distance
    (ties by position in the fold) is averaged. When the fold has ``k`` or fewer other
    documents, all of them are used. (``sklearn.metrics.make_scorer`` cannot express
    this: it calls only predict, predict_proba or decision_function.)

    Parameters
    ----------
    k : int, default=100
        Neighbours per document.

    Returns
    -------
    scorer : PrecisionAtKScorer
        Callable ``scorer(estimator, X, y) -> float``; picklable.

    Examples
    --------
    >>> from sklearn.model_selection import cross_val_score
    >>> from skhash import NASHHasher
    >>> from skhash.metrics import precision_at_k_scorer
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 30)
    >>> X = rng.poisson(1.0, size=(60, 20)).astype(float)
    >>> X[y == 0, :10] += 3
    >>> X[y == 1, 10:] += 3
    >>> scores = cross_val_score(
    ...     NASHHasher(n_bits=8, hidden_layer_sizes=(16,), max_iter=20, random_state=0),
    ...     X, y, cv=2, scoring=precision_at_k_scorer(k=10))
    >>> bool(scores.min() > 0.8)
    True
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}.")
    return PrecisionAtKScorer(k)
