"""The full-precision reference line: precision@k of exact cosine ranking."""

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from ._hamming import DEFAULT_CHUNK
from ._retrieval import _check_k, _check_labels, _relevance


def cosine_precision_at_k(X_query, query_labels, X_database, database_labels, *, k=100,
                          chunk_size=DEFAULT_CHUNK, average=True):
    """Mean precision of the k nearest database rows by cosine similarity of the features.

    What the codes are measured against: the same retrieval protocol as
    :func:`precision_at_k`, ranked by exact cosine similarity of the (TF-IDF) vectors
    instead of Hamming distance. Ties in similarity are broken by ascending database
    index, as the Hamming metrics break theirs.

    Parameters
    ----------
    X_query : {array-like, sparse matrix} of shape (n_queries, n_features)
        Query feature vectors.
    query_labels : array-like of shape (n_queries,) or (n_queries, n_labels)
        Class labels, or a 0/1 indicator matrix for multi-label data.
    X_database : {array-like, sparse matrix} of shape (n_database, n_features)
        The searched set.
    database_labels : array-like of shape (n_database,) or (n_database, n_labels)
        Its labels, of the same kind as ``query_labels``.
    k : int, default=100
        Items retrieved per query (all of them when the database is smaller).
    chunk_size : int, default=512
        Queries ranked at once (a dense ``chunk_size x n_database`` block).
    average : bool, default=True
        If False, return each query's precision instead of their mean.

    Returns
    -------
    precision : float, or ndarray of shape (n_queries,) when ``average=False``
        Fraction of relevant items among the k retrieved, averaged over queries.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.metrics import cosine_precision_at_k
    >>> X = np.array([[1.0, 0.1], [0.9, 0.2], [0.1, 1.0], [0.2, 0.8]])
    >>> cosine_precision_at_k(X[[0, 2]], [0, 1], X, [0, 0, 1, 1], k=2)
    1.0
    """
    k = _check_k(k)
    query_labels = _check_labels(query_labels, X_query.shape[0], "query_labels")
    database_labels = _check_labels(database_labels, X_database.shape[0], "database_labels")
    Xq, Xd = normalize(X_query), normalize(X_database)
    k = min(k, Xd.shape[0])
    precision = np.empty(Xq.shape[0])
    for start in range(0, Xq.shape[0], chunk_size):
        sims = Xq[start:start + chunk_size] @ Xd.T
        sims = sims.toarray() if sp.issparse(sims) else np.asarray(sims)
        top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        q = query_labels[start:start + chunk_size]
        precision[start:start + len(q)] = _relevance(q, database_labels[top]).mean(axis=1)
    return precision if not average else float(precision.mean())
