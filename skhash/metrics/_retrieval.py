"""Retrieval metrics over Hamming rankings (pure numpy, chunked over queries)."""

import numpy as np
import pandas as pd

from ._hamming import DEFAULT_CHUNK, check_codes, hamming_distances, top_k_by_hamming


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


def _check_problem(query_codes, query_labels, database_codes, database_labels):
    """Validated arrays and whether this is leave-one-out (no database given)."""
    query_codes = check_codes(query_codes, "query_codes")
    query_labels = _check_labels(query_labels, query_codes.shape[0], "query_labels")
    if database_codes is None:
        if database_labels is not None:
            raise ValueError("database_labels given without database_codes.")
        if query_codes.shape[0] < 2:
            raise ValueError("leave-one-out evaluation needs at least 2 items.")
        return query_codes, query_labels, query_codes, query_labels, True
    database_codes = check_codes(database_codes, "database_codes")
    if database_labels is None:
        raise ValueError("database_codes given without database_labels.")
    database_labels = _check_labels(database_labels, database_codes.shape[0], "database_labels")
    if database_codes.shape[1] != query_codes.shape[1]:
        raise ValueError(
            f"query codes have {query_codes.shape[1]} bits but database codes have "
            f"{database_codes.shape[1]}."
        )
    if query_labels.ndim != database_labels.ndim:
        raise ValueError("query_labels and database_labels must both be 1-D or both 2-D.")
    return query_codes, query_labels, database_codes, database_labels, False


def _check_k(k):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}.")
    return int(k)


def _relevance(query_labels, retrieved_labels):
    """True where a retrieved item shares the query's class (or at least one label)."""
    if query_labels.ndim == 1:
        return retrieved_labels == query_labels[:, None]
    return np.einsum("qkl,ql->qk", retrieved_labels != 0, query_labels != 0) > 0


def _relevance_matrix(query_labels, database_labels):
    """(n_queries, n_database) relevance of every pair."""
    if query_labels.ndim == 1:
        return query_labels[:, None] == database_labels[None, :]
    q = (query_labels != 0).astype(np.float32)
    d = (database_labels != 0).astype(np.float32)
    return (q @ d.T) > 0


_SHARED_PARAMS = """
    query_codes : array-like of shape (n_queries, n_bits)
        0/1 codes of the queries.
    query_labels : array-like of shape (n_queries,) or (n_queries, n_labels)
        Class labels, or a 0/1 indicator matrix for multi-label data. An item is
        relevant to a query when it has the query's class, or shares at least one
        label with it.
    database_codes, database_labels : array-like, default=None
        The searched set. When None, each query searches the other queries
        (leave-one-out: an item never retrieves itself).
    chunk_size : int, default=512
        Queries evaluated at once; memory stays near ``chunk_size * n_database * 16``
        bytes, never ``n_queries * n_database * n_bits``."""


def precision_at_k(
    query_codes, query_labels, database_codes=None, database_labels=None, *, k=100,
    chunk_size=DEFAULT_CHUNK, average=True,
):
    """Mean precision of the k nearest database codes by Hamming distance.

    Parameters
    ----------%(shared)s
    k : int, default=100
        Items retrieved per query. When the database (less the query itself) has fewer
        than ``k`` items, all of them are used.
    average : bool, default=True
        If False, return each query's precision instead of their mean: for a breakdown
        by class, or a paired comparison of two hashers on the same queries.

    Returns
    -------
    precision : float, or ndarray of shape (n_queries,) when ``average=False``
        Fraction of relevant items among the k retrieved, averaged over queries. Ties
        in distance are broken by ascending database index, so the figure reproduces.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.metrics import precision_at_k
    >>> codes = np.array([[0, 0], [0, 1], [1, 1], [1, 1]])
    >>> precision_at_k(codes, [0, 0, 1, 1], k=1)
    1.0
    >>> precision_at_k(codes, [0, 1, 1, 1], k=2, average=False).tolist()
    [0.0, 0.5, 1.0, 1.0]
    """
    per_query = _at_k(query_codes, query_labels, database_codes, database_labels, k,
                      chunk_size, with_recall=False)[0]
    return per_query if not average else float(per_query.mean())


def recall_at_k(
    query_codes, query_labels, database_codes=None, database_labels=None, *, k=100,
    chunk_size=DEFAULT_CHUNK,
):
    """Mean fraction of each query's relevant database items found in its k nearest.

    Parameters
    ----------%(shared)s
    k : int, default=100
        Items retrieved per query (all of them when the database is smaller).

    Returns
    -------
    recall : float
        Averaged over the queries that have at least one relevant item in the
        database (recall is undefined for the others, which are left out); NaN if no
        query has one.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.metrics import recall_at_k
    >>> codes = np.array([[0, 0], [0, 1], [1, 1], [1, 0]])
    >>> recall_at_k(codes, [0, 0, 0, 1], k=1)
    0.5
    """
    return _at_k(query_codes, query_labels, database_codes, database_labels, k, chunk_size,
                 with_recall=True)[1]


def _at_k(query_codes, query_labels, database_codes, database_labels, k, chunk_size,
          with_recall):
    """(precision@k of each query, mean recall@k); recall, which needs every pair's
    relevance, only on request."""
    q_codes, q_labels, d_codes, d_labels, loo = _check_problem(
        query_codes, query_labels, database_codes, database_labels
    )
    k_eff = min(_check_k(k), d_codes.shape[0] - int(loo))
    precision = np.empty(q_codes.shape[0])
    recall_sum, n_with_relevant = 0.0, 0
    for start, idx in top_k_by_hamming(q_codes, d_codes, k_eff, loo, chunk_size):
        chunk_labels = q_labels[start : start + idx.shape[0]]
        hits = _relevance(chunk_labels, d_labels[idx]).sum(axis=1)
        precision[start : start + idx.shape[0]] = hits / k_eff
        if not with_recall:
            continue
        n_relevant = _relevance_matrix(chunk_labels, d_labels).sum(axis=1)
        if loo:
            n_relevant -= 1  # the query is relevant to itself but never retrieved
        has = n_relevant > 0
        recall_sum += (hits[has] / n_relevant[has]).sum()
        n_with_relevant += int(has.sum())
    recall = float(recall_sum / n_with_relevant) if n_with_relevant else float("nan")
    return precision, recall


def mean_average_precision(
    query_codes, query_labels, database_codes=None, database_labels=None, *,
    chunk_size=DEFAULT_CHUNK,
):
    """Mean average precision over the full Hamming ranking of the database.

    Parameters
    ----------%(shared)s

    Returns
    -------
    map : float
        For each query, the mean of precision@i over the ranks i of its relevant items
        (ranking by distance, ties by ascending database index), averaged over queries
        with at least one relevant item; NaN if none has one.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.metrics import mean_average_precision
    >>> codes = np.array([[0, 0], [0, 1], [1, 1], [1, 1]])
    >>> mean_average_precision(codes, [0, 0, 1, 1])
    1.0
    """
    q_codes, q_labels, d_codes, d_labels, loo = _check_problem(
        query_codes, query_labels, database_codes, database_labels
    )
    n_ranked = d_codes.shape[0] - int(loo)
    ap_sum, n_with_relevant = 0.0, 0
    ranks = np.arange(1, n_ranked + 1)
    for start, idx in top_k_by_hamming(q_codes, d_codes, n_ranked, loo, chunk_size):
        rel = _relevance(q_labels[start : start + idx.shape[0]], d_labels[idx])
        hits = np.cumsum(rel, axis=1)
        n_rel = hits[:, -1]
        has = n_rel > 0
        ap = (rel * hits / ranks).sum(axis=1)
        ap_sum += (ap[has] / n_rel[has]).sum()
        n_with_relevant += int(has.sum())
    return float(ap_sum / n_with_relevant) if n_with_relevant else float("nan")


def _radius_histograms(query_codes, query_labels, database_codes, database_labels, chunk_size):
    """Per query and distance, the numbers of database items and of relevant ones."""
    q_codes, q_labels, d_codes, d_labels, loo = _check_problem(
        query_codes, query_labels, database_codes, database_labels
    )
    n_bits = q_codes.shape[1]
    width = n_bits + 1
    found = np.zeros((q_codes.shape[0], width), dtype=np.int64)
    relevant = np.zeros_like(found)
    for start in range(0, q_codes.shape[0], chunk_size):
        stop = min(start + chunk_size, q_codes.shape[0])
        dist = hamming_distances(q_codes[start:stop], d_codes).astype(np.int64)
        rel = _relevance_matrix(q_labels[start:stop], d_labels)
        if loo:
            rows = np.arange(stop - start)
            dist[rows, rows + start] = -1  # the query itself: dropped below
        offsets = (np.arange(stop - start) * width)[:, None]
        keep = dist >= 0
        flat = (dist + offsets)[keep]
        size = (stop - start) * width
        found[start:stop] = np.bincount(flat, minlength=size).reshape(-1, width)
        relevant[start:stop] = np.bincount(flat, weights=rel[keep], minlength=size).reshape(
            -1, width
        )
    return found, relevant


def precision_within_radius(
    query_codes, query_labels, database_codes=None, database_labels=None, *, radius=2,
    chunk_size=DEFAULT_CHUNK,
):
    """Precision of hash lookup: the items within Hamming distance ``radius``.

    Parameters
    ----------%(shared)s
    radius : int, default=2
        Largest Hamming distance retrieved.

    Returns
    -------
    precision : float
        For each query, relevant items over items within the radius; a query with
        nothing within the radius counts as precision 0 (the lookup failed). Averaged
        over all queries.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.metrics import precision_within_radius
    >>> codes = np.array([[0, 0], [0, 1], [1, 1], [1, 1]])
    >>> precision_within_radius(codes, [0, 1, 1, 1], radius=0)
    0.5
    """
    if isinstance(radius, bool) or not isinstance(radius, (int, np.integer)) or radius < 0:
        raise ValueError(f"radius must be a non-negative integer, got {radius!r}.")
    found, relevant = _radius_histograms(
        query_codes, query_labels, database_codes, database_labels, chunk_size
    )
    n_found = found[:, : radius + 1].sum(axis=1)
    n_rel = relevant[:, : radius + 1].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_query = np.where(n_found > 0, n_rel / np.maximum(n_found, 1), 0.0)
    return float(per_query.mean())


def hamming_precision_recall(
    query_codes, query_labels, database_codes=None, database_labels=None, *,
    chunk_size=DEFAULT_CHUNK,
):
    """Precision and recall of hash lookup at every radius 0..n_bits.

    Parameters
    ----------%(shared)s

    Returns
    -------
    curve : pandas.DataFrame
        One row per radius with columns ``radius``, ``precision`` (mean over queries,
        0 for a query with nothing within the radius), ``recall`` (mean over queries
        with at least one relevant item) and ``mean_retrieved``.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.metrics import hamming_precision_recall
    >>> codes = np.array([[0, 0], [0, 1], [1, 1], [1, 1]])
    >>> hamming_precision_recall(codes, [0, 0, 1, 1])["recall"].tolist()
    [0.5, 1.0, 1.0]
    """
    found, relevant = _radius_histograms(
        query_codes, query_labels, database_codes, database_labels, chunk_size
    )
    n_found = np.cumsum(found, axis=1)
    n_rel = np.cumsum(relevant, axis=1)
    total_rel = n_rel[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(n_found > 0, n_rel / np.maximum(n_found, 1), 0.0).mean(axis=0)
        has = total_rel > 0
        recall = (
            (n_rel[has] / total_rel[has, None]).mean(axis=0)
            if has.any()
            else np.full(found.shape[1], np.nan)
        )
    return pd.DataFrame(
        {
            "radius": np.arange(found.shape[1]),
            "precision": precision,
            "recall": recall,
            "mean_retrieved": n_found.mean(axis=0),
        }
    )


for _func in (precision_at_k, recall_at_k, mean_average_precision, precision_within_radius,
              hamming_precision_recall):
    _func.__doc__ = _func.__doc__ % {"shared": _SHARED_PARAMS}
