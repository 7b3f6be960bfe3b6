"""Retrieval metrics over Hamming rankings: precision@k."""

import numpy as np

from ._hamming import DEFAULT_CHUNK, check_codes, top_k_by_hamming


def _check_labels(labels, n, name):
    labels = np.asarray(labels)
    if labels.ndim not in (1, 2):
        raise ValueError(
            f"{name} must be 1-D class labels or a 2-D 0/1 indicator matrix, "
            f"got shape {labels.shape}."
        )
    if labels.shape[0] != n:
        raise ValueError(f"{name} has {labels.shape[0]} rows but the codes have {n}.")
    return labels


def _relevance(query_labels, retrieved_labels):
    """1 where a retrieved item shares the query's class (or at least one label)."""
    if query_labels.ndim == 1:
        return retrieved_labels == query_labels[:, None]
    return np.einsum("qkl,ql->qk", retrieved_labels != 0, query_labels != 0) > 0


def precision_at_k(
    query_codes,
    query_labels,
    database_codes=None,
    database_labels=None,
    *,
    k=100,
    chunk_size=DEFAULT_CHUNK,
):
    """Mean precision of the k nearest database codes by Hamming distance.

    Parameters
    ----------
    query_codes : array-like of shape (n_queries, n_bits)
        0/1 codes of the queries.
    query_labels : array-like of shape (n_queries,) or (n_queries, n_labels)
        Class labels, or a 0/1 indicator matrix for multi-label data.
    database_codes, database_labels : array-like, default=None
        The searched set. When None, each query searches the other queries
        (leave-one-out: an item never retrieves itself).
    k : int, default=100
        Items retrieved per query. When the database (less the query itself) has fewer
        than ``k`` items, all of them are used.
    chunk_size : int, default=512
        Queries ranked at once; bounds memory to about
        ``chunk_size * n_database * 12`` bytes.

    Returns
    -------
    precision : float
        Fraction of relevant items among the retrieved, averaged over queries. A
        retrieved item is relevant when it has the query's class (1-D labels) or shares at
        least one label with it (indicator matrix). Ties in distance are broken by
        ascending database index, so the figure is reproducible.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.metrics import precision_at_k
    >>> codes = np.array([[0, 0], [0, 1], [1, 1], [1, 1]])
    >>> precision_at_k(codes, [0, 0, 1, 1], k=1)
    1.0
    """
    query_codes = check_codes(query_codes, "query_codes")
    query_labels = _check_labels(query_labels, query_codes.shape[0], "query_labels")
    loo = database_codes is None
    if loo:
        if database_labels is not None:
            raise ValueError("database_labels given without database_codes.")
        database_codes, database_labels = query_codes, query_labels
    else:
        database_codes = check_codes(database_codes, "database_codes")
        database_labels = _check_labels(
            database_labels, database_codes.shape[0], "database_labels"
        )
        if database_codes.shape[1] != query_codes.shape[1]:
            raise ValueError(
                f"query codes have {query_codes.shape[1]} bits but database codes have "
                f"{database_codes.shape[1]}."
            )
        if query_labels.ndim != database_labels.ndim:
            raise ValueError("query_labels and database_labels must both be 1-D or both 2-D.")
    if not (isinstance(k, (int, np.integer)) and k >= 1):
        raise ValueError(f"k must be a positive integer, got {k!r}.")
    k_eff = min(k, database_codes.shape[0] - int(loo))
    if k_eff < 1:
        raise ValueError("leave-one-out precision needs at least 2 items.")
    total = 0.0
    for start, idx in top_k_by_hamming(
        query_codes, database_codes, k_eff, exclude_self=loo, chunk=chunk_size
    ):
        q_labels = query_labels[start : start + idx.shape[0]]
        total += _relevance(q_labels, database_labels[idx]).mean(axis=1).sum()
    return float(total / query_codes.shape[0])
