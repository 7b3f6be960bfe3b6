"""Hamming distances and rankings for evaluation (pure numpy)."""

import numpy as np

#: Queries ranked at once; bounds memory at about chunk * n_database * 12 bytes.
DEFAULT_CHUNK = 512


def check_codes(codes, name="codes"):
    """2-D array of 0/1 values, or a ValueError naming what is wrong."""
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_bits), got shape {codes.shape}.")
    if codes.shape[0] == 0 or codes.shape[1] == 0:
        raise ValueError(f"{name} is empty: shape {codes.shape}.")
    if codes.dtype == bool:
        return codes.astype(np.uint8)
    if not np.issubdtype(codes.dtype, np.number) or not np.isin(codes, (0, 1)).all():
        raise ValueError(f"{name} must hold only 0 and 1 (binary codes).")
    return codes.astype(np.uint8, copy=False)


def hamming_distances(query_codes, database_codes):
    """All pairwise Hamming distances, shape (n_queries, n_database), int32.

    Computed as ``(n_bits - <2q-1, 2d-1>) / 2`` with a float32 matrix product, exact
    for any code length below 2**24 bits.
    """
    q = query_codes.astype(np.float32) * 2.0 - 1.0
    d = database_codes.astype(np.float32) * 2.0 - 1.0
    dots = q @ d.T
    return ((query_codes.shape[1] - dots) * 0.5).round().astype(np.int32)


def top_k_by_hamming(query_codes, database_codes, k, exclude_self=False, chunk=DEFAULT_CHUNK):
    """Indices of each query's k nearest database codes, ties by database index.

    Yields ``(start, indices)`` per chunk of queries, ``indices`` of shape
    (n_chunk, k). With ``exclude_self`` the query and database are the same set and
    query ``i`` never retrieves row ``i``.
    """
    n_db = database_codes.shape[0]
    for start in range(0, query_codes.shape[0], chunk):
        stop = min(start + chunk, query_codes.shape[0])
        # distance * n_db + index is unique per row, so ordering it is ordering by
        # distance with ties broken by ascending database index.
        keys = hamming_distances(query_codes[start:stop], database_codes).astype(np.int64)
        keys *= n_db
        keys += np.arange(n_db)
        if exclude_self:
            keys[np.arange(stop - start), np.arange(start, stop)] = np.iinfo(np.int64).max
        if k < n_db:
            part = np.argpartition(keys, k - 1, axis=1)[:, :k]
            part_keys = np.take_along_axis(keys, part, axis=1)
            order = np.argsort(part_keys, axis=1)
            yield start, np.take_along_axis(part, order, axis=1)
        else:
            yield start, np.argsort(keys, axis=1)[:, :k]
