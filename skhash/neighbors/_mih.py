"""Multi-index hashing (Norouzi, Punjani & Fleet, TPAMI 2014) over packed codes.

Codes are split into ``m`` disjoint substrings, each indexed by a sorted table. If two
codes are within Hamming distance ``r``, then by the pigeonhole principle at least one of
their substrings is within ``r // m``: probing every substring value within that
distance of the query's finds every candidate, and checking the full distance keeps
exactly the codes within ``r``. A candidate found through substring ``s`` is kept only if
no earlier substring also qualifies, so none is reported twice.
"""

import numpy as np
from numba import njit, prange

from ._kernels import _distance, popcount64, sort_by_distance_then_index


def substring_bounds(n_bits, n_substrings):
    """(start, width) of each substring, widths as even as possible."""
    widths = np.full(n_substrings, n_bits // n_substrings, dtype=np.int64)
    widths[: n_bits % n_substrings] += 1
    starts = np.concatenate([[0], np.cumsum(widths)[:-1]])
    return starts.astype(np.int64), widths


@njit(cache=True, nogil=True, inline="always")
def _substring(codes, i, start, width):
    """Bits start..start+width-1 of row i (bit j at word j // 64, position j % 64)."""
    word = start // 64
    offset = start % 64
    value = codes[i, word] >> np.uint64(offset)
    if offset + width > 64:
        value |= codes[i, word + 1] << np.uint64(64 - offset)
    if width < 64:
        value &= (np.uint64(1) << np.uint64(width)) - np.uint64(1)
    return value


@njit(parallel=True, cache=True, nogil=True)
def _all_substrings(codes, starts, widths):
    n = codes.shape[0]
    m = starts.shape[0]
    out = np.empty((m, n), dtype=np.uint64)
    for i in prange(n):
        for s in range(m):
            out[s, i] = _substring(codes, i, starts[s], widths[s])
    return out


#: Bits of a substring addressed directly; the rest are found by binary search.
PREFIX_BITS = 16


def build_tables(packed, n_bits, n_substrings):
    """One table per substring: its sorted values, the database rows in that order, and
    where each value of its leading ``PREFIX_BITS`` bits starts, so a look-up is one
    direct access and a binary search over a few entries."""
    starts, widths = substring_bounds(n_bits, n_substrings)
    values = _all_substrings(packed, starts, widths)
    order = np.argsort(values, axis=1, kind="stable")
    keys = np.take_along_axis(values, order, axis=1)
    prefix_shift = np.maximum(widths - PREFIX_BITS, 0)
    offsets = np.zeros((len(widths), (1 << PREFIX_BITS) + 1), dtype=np.int64)
    for s in range(len(widths)):
        prefixes = (keys[s] >> np.uint64(prefix_shift[s])).astype(np.int64)
        offsets[s, 1:] = np.cumsum(np.bincount(prefixes, minlength=1 << PREFIX_BITS))
    return starts, widths, keys, order.astype(np.int64), prefix_shift, offsets


@njit(cache=True, nogil=True, inline="always")
def _keep_if_within(d, j, radius, write, out_d, out_i, pos, found):
    """Count row j (and write it, on the filling pass) if within the radius."""
    if d <= radius:
        if write:
            out_d[pos + found] = d
            out_i[pos + found] = j
        found += 1
    return found


@njit(cache=True, nogil=True)
def _n_probes(widths, sub_radius):
    """Table look-ups needed: sum over substrings of sum_{t <= r} C(width, t)."""
    total = 0.0
    for s in range(widths.shape[0]):
        term = 1.0
        for t in range(min(sub_radius, widths[s]) + 1):
            if t > 0:
                term = term * (widths[s] - t + 1) / t
            total += term
    return total


@njit(cache=True, nogil=True)
def _probe_query(queries, q, database, radius, starts, widths, keys, order, prefix_shift, offsets, skip_self, out_d, out_i, pos, write):
    """Visit every database row within ``radius`` of query q once; count or write it."""
    m = starts.shape[0]
    n_words = queries.shape[1]
    sub_radius = radius // m
    found = 0
    if _n_probes(widths, sub_radius) > database.shape[0]:
        # Probing would cost more than a scan (large radius, far neighbours): scan.
        for j in range(database.shape[0]):
            if skip_self and j == q:
                continue
            found = _keep_if_within(_distance(queries, q, database, j, n_words), j, radius,
                                    write, out_d, out_i, pos, found)
        return found
    flips = np.empty(max(sub_radius, 1), dtype=np.int64)
    q_subs = np.empty(m, dtype=np.uint64)
    for s in range(m):
        q_subs[s] = _substring(queries, q, starts[s], widths[s])
    for s in range(m):
        width = widths[s]
        qv = q_subs[s]
        for r_s in range(min(sub_radius, width) + 1):
            # enumerate every set of r_s bit positions to flip (lexicographic combinations)
            for t in range(r_s):
                flips[t] = t
            while True:
                v = qv
                for t in range(r_s):
                    v ^= np.uint64(1) << np.uint64(flips[t])
                prefix = v >> np.uint64(prefix_shift[s])
                first = offsets[s, prefix]
                bucket = keys[s, first : offsets[s, prefix + 1]]
                lo = first + np.searchsorted(bucket, v, side="left")
                hi = first + np.searchsorted(bucket, v, side="right")
                for p in range(lo, hi):
                    j = order[s, p]
                    if skip_self and j == q:
                        continue
                    # first-substring rule: skip if an earlier substring also qualifies
                    dup = False
                    for s2 in range(s):
                        x = q_subs[s2] ^ _substring(database, j, starts[s2], widths[s2])
                        if popcount64(x) <= sub_radius:
                            dup = True
                            break
                    if dup:
                        continue
                    found = _keep_if_within(_distance(queries, q, database, j, n_words), j,
                                            radius, write, out_d, out_i, pos, found)
                # next combination
                t = r_s - 1
                while t >= 0 and flips[t] == width - r_s + t:
                    t -= 1
                if t < 0:
                    break
                flips[t] += 1
                for u in range(t + 1, r_s):
                    flips[u] = flips[u - 1] + 1
    return found


@njit(parallel=True, cache=True, nogil=True)
def mih_radius_count(queries, database, radius, starts, widths, keys, order, prefix_shift, offsets, skip_self):
    nq = queries.shape[0]
    counts = np.zeros(nq, dtype=np.int64)
    dummy_d = np.empty(0, dtype=np.int32)
    dummy_i = np.empty(0, dtype=np.int64)
    for q in prange(nq):
        counts[q] = _probe_query(queries, q, database, radius[q], starts, widths, keys, order,
                                 prefix_shift, offsets, skip_self, dummy_d, dummy_i, 0, False)
    return counts


@njit(parallel=True, cache=True, nogil=True)
def mih_radius_fill(queries, database, radius, starts, widths, keys, order, prefix_shift, offsets, skip_self, indptr, out_d, out_i):
    """Fill each query's slice with (distance, index), sorted by distance then index."""
    nq = queries.shape[0]
    for q in prange(nq):
        lo = indptr[q]
        hi = indptr[q + 1]
        _probe_query(queries, q, database, radius[q], starts, widths, keys, order,
                     prefix_shift, offsets, skip_self, out_d, out_i, lo, True)
        sort_by_distance_then_index(out_d, out_i, lo, hi)


@njit(parallel=True, cache=True, nogil=True)
def mih_knn(queries, database, k, starts, widths, keys, order, prefix_shift, offsets, skip_self, n_bits):
    """Exact kNN by growing the probe radius until k codes are certainly found.

    With sub-radius ``r_s`` every code within ``m * (r_s + 1) - 1`` is a candidate, so
    once that many-bit ball holds k codes the k nearest (ties by index) are among them.
    """
    nq = queries.shape[0]
    m = starts.shape[0]
    out_d = np.empty((nq, k), dtype=np.int32)
    out_i = np.empty((nq, k), dtype=np.int64)
    dummy_d = np.empty(0, dtype=np.int32)
    dummy_i = np.empty(0, dtype=np.int64)
    for q in prange(nq):
        r_s = 0
        while True:
            radius = min(m * (r_s + 1) - 1, n_bits)
            count = _probe_query(queries, q, database, radius, starts, widths, keys, order,
                                 prefix_shift, offsets, skip_self, dummy_d, dummy_i, 0, False)
            if count >= k or radius >= n_bits:
                break
            r_s += 1
        buf_d = np.empty(count, dtype=np.int32)
        buf_i = np.empty(count, dtype=np.int64)
        _probe_query(queries, q, database, radius, starts, widths, keys, order,
                     prefix_shift, offsets, skip_self, buf_d, buf_i, 0, True)
        sort_by_distance_then_index(buf_d, buf_i, 0, count)
        for t in range(k):
            out_d[q, t] = buf_d[t]
            out_i[q, t] = buf_i[t]
    return out_d, out_i
