"""Compiled Hamming-search kernels (numba) over bit-packed uint64 codes.

Every kernel orders results by (distance, database index), so ties are broken by
ascending index whatever the algorithm.
"""

import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic


@intrinsic
def popcount64(typingctx, x):
    """Number of set bits of a uint64 (LLVM's ctpop: one POPCNT instruction)."""

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return types.uint64(types.uint64), codegen


#: Queries scanned together: each database code is loaded once for the whole block.
QUERY_BLOCK = 8


@njit(cache=True, nogil=True, inline="always")
def _distance(a, i, b, j, n_words):
    d = 0
    for w in range(n_words):
        d += popcount64(a[i, w] ^ b[j, w])
    return d


@njit(cache=True, nogil=True)
def _sift_down(keys, base, k):
    """Restore the max-heap property of keys[base:base+k] after its root changed."""
    pos = 0
    item = keys[base]
    while True:
        child = 2 * pos + 1
        if child >= k:
            break
        if child + 1 < k and keys[base + child + 1] > keys[base + child]:
            child += 1
        if keys[base + child] <= item:
            break
        keys[base + pos] = keys[base + child]
        pos = child
    keys[base + pos] = item


@njit(parallel=True, cache=True, nogil=True)
def knn_scan(queries, database, k, skip_self):
    """Exact k nearest database rows of each query row.

    Returns (distances int32 (nq, k), indices int64 (nq, k)). A max-heap of keys
    ``distance << 40 | index`` per query; since the scan runs in index order, a later
    row enters only when strictly closer than the current k-th, which is one compare
    per row once the heap is full. With ``skip_self`` query ``i`` never returns row
    ``i`` (the database is the query set).
    """
    nq, n_words = queries.shape
    n = database.shape[0]
    shift = 40
    mask = (1 << shift) - 1
    out_d = np.empty((nq, k), dtype=np.int32)
    out_i = np.empty((nq, k), dtype=np.int64)
    n_blocks = (nq + QUERY_BLOCK - 1) // QUERY_BLOCK
    for blk in prange(n_blocks):
        q0 = blk * QUERY_BLOCK
        q1 = min(q0 + QUERY_BLOCK, nq)
        nb = q1 - q0
        keys = np.empty(nb * k, dtype=np.int64)
        filled = np.zeros(nb, dtype=np.int64)
        worst = np.full(nb, np.iinfo(np.int64).max, dtype=np.int64)
        for j in range(n):
            for b in range(nb):
                if skip_self and q0 + b == j:
                    continue
                d = _distance(queries, q0 + b, database, j, n_words)
                key = (d << shift) | j
                if filled[b] < k:
                    # fill phase: append, heapify when full
                    keys[b * k + filled[b]] = key
                    filled[b] += 1
                    if filled[b] == k:
                        for start in range(k // 2 - 1, -1, -1):
                            _heapify_from(keys, b * k, k, start)
                        worst[b] = keys[b * k]
                elif key < worst[b]:
                    keys[b * k] = key
                    _sift_down(keys, b * k, k)
                    worst[b] = keys[b * k]
        for b in range(nb):
            row = np.sort(keys[b * k : b * k + k])
            for t in range(k):
                out_d[q0 + b, t] = row[t] >> shift
                out_i[q0 + b, t] = row[t] & mask
    return out_d, out_i


@njit(cache=True, nogil=True)
def _heapify_from(keys, base, k, start):
    pos = start
    item = keys[base + pos]
    while True:
        child = 2 * pos + 1
        if child >= k:
            break
        if child + 1 < k and keys[base + child + 1] > keys[base + child]:
            child += 1
        if keys[base + child] <= item:
            break
        keys[base + pos] = keys[base + child]
        pos = child
    keys[base + pos] = item


@njit(parallel=True, cache=True, nogil=True)
def radius_count(queries, database, radius, skip_self):
    """Number of database rows within ``radius`` of each query."""
    nq, n_words = queries.shape
    n = database.shape[0]
    counts = np.zeros(nq, dtype=np.int64)
    for q in prange(nq):
        c = 0
        for j in range(n):
            if _distance(queries, q, database, j, n_words) <= radius and not (skip_self and q == j):
                c += 1
        counts[q] = c
    return counts


@njit(parallel=True, cache=True, nogil=True)
def radius_fill(queries, database, radius, skip_self, indptr, out_d, out_i):
    """Write every database row within ``radius`` of query q into indptr[q]:indptr[q+1]."""
    nq, n_words = queries.shape
    n = database.shape[0]
    for q in prange(nq):
        pos = indptr[q]
        for j in range(n):
            d = _distance(queries, q, database, j, n_words)
            if d <= radius and not (skip_self and q == j):
                out_d[pos] = d
                out_i[pos] = j
                pos += 1
