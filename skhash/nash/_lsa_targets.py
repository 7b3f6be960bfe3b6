"""Reconstruction targets smoothed by a low-rank (LSA) reconstruction of each document.

A document's own words are a small, noisy sample of its topic. Its projection onto the
corpus' leading singular directions (latent semantic analysis, Deerwester et al. 1990)
and back onto the vocabulary spreads its weight over the words that co-occur with its
own across the corpus. Asking the decoder to reconstruct, besides the document's words,
the strongest of those smoothed words gives documents on one topic more targets in
common, so their codes move closer. Unlike neighbour targets
(:mod:`skhash.nash._neighbor_targets`) it needs no search over pairs of documents: a
truncated SVD and one product per block of rows. Plain numpy/scipy/scikit-learn: no
torch.
"""

import numba
import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize
from sklearn.utils.extmath import randomized_svd
from threadpoolctl import threadpool_limits

from ._batches import target_matrix

#: Entries of the dense block of smoothed rows computed at once (64 MiB of float64).
_BLOCK_ENTRIES = 1 << 23


@numba.njit(cache=True, nogil=True)
def largest_positive(block, indices, values, counts):
    """Per row of ``block``, its ``m`` largest positive entries (``m`` = ``indices``' width).

    Writes each row's columns and values into ``indices`` and ``values`` (in no
    particular order; the first ``counts[r]`` of row ``r`` are set, fewer than ``m`` where
    the row has fewer positive entries). A min-heap of the ``m`` best seen so far: one
    comparison for most entries, where clipping at 0 and a partition of the row
    (``np.argpartition``) took eleven times as long on 20 Newsgroups' 10,000 words
    (51 against 570 ms for 838 rows, one thread). Which of several equal entries at the
    cut are kept is set by their order in the row: the same on every call.
    """
    m = indices.shape[1]
    for r in range(block.shape[0]):
        row = block[r]
        heap_v = values[r]
        heap_i = indices[r]
        size = 0
        floor = 0.0  # what an entry must exceed: 0, then the smallest kept once m are
        for j in range(row.shape[0]):
            x = row[j]
            if x <= floor:  # most entries, once the heap is full: a predictable branch
                continue
            if size < m:  # push, then sift up
                pos = size
                size += 1
                while pos > 0:
                    parent = (pos - 1) // 2
                    if heap_v[parent] <= x:
                        break
                    heap_v[pos] = heap_v[parent]
                    heap_i[pos] = heap_i[parent]
                    pos = parent
                heap_v[pos] = x
                heap_i[pos] = j
                if size == m:
                    floor = heap_v[0]
            else:  # replace the smallest kept, then sift down
                pos = 0
                while True:
                    child = 2 * pos + 1
                    if child >= m:
                        break
                    if child + 1 < m and heap_v[child + 1] < heap_v[child]:
                        child += 1
                    if heap_v[child] >= x:
                        break
                    heap_v[pos] = heap_v[child]
                    heap_i[pos] = heap_i[child]
                    pos = child
                heap_v[pos] = x
                heap_i[pos] = j
                floor = heap_v[0]
        counts[r] = size


def lsa_smoothed_part(X, n_components, n_terms, *, random_state=0,
                      block_entries=_BLOCK_ENTRIES):
    """Each row's rank-``n_components`` reconstruction, cut to its ``n_terms`` largest
    positive entries and scaled to sum to 1.

    The rows of X are L2-normalised, X's truncated SVD ``U S V^T`` is taken in float64 on
    one BLAS thread (so that the result does not depend on the thread count), and row
    ``x`` becomes ``x V V^T`` with its negative entries set to 0.

    Parameters
    ----------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features)
        Non-negative term weights.
    n_components : int
        Rank of the reconstruction; capped at ``min(n_samples, n_features) - 1``.
    n_terms : int
        Entries kept per row (at most ``n_features``).
    random_state : int, default=0
        Seed of the randomized SVD.
    block_entries : int, default=2**23
        Size of the dense block of reconstructed rows computed at once (memory bound).

    Returns
    -------
    smoothed : scipy.sparse.csr_matrix of shape (n_samples, n_features), float64
        Rows summing to 1, or to 0 where a row is empty or its reconstruction has no
        positive entry (or where ``n_components`` is capped to 0).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from skhash.nash._lsa_targets import lsa_smoothed_part
    >>> X = sp.csr_matrix(np.array([[2., 1, 0, 0], [1., 2, 0, 0], [0, 0, 1, 1],
    ...                             [0, 0, 2, 1], [1., 0, 0, 0]]))
    >>> S = lsa_smoothed_part(X, 2, 2)
    >>> S.sum(axis=1).round(6).ravel().tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0]
    >>> sorted(S[4].indices.tolist())  # the first topic's two words, from one of them
    [0, 1]
    """
    n, n_features = X.shape
    k = min(n_components, min(n, n_features) - 1)
    if k < 1 or n_terms < 1:
        return sp.csr_matrix(X.shape, dtype=np.float64)
    m = min(n_terms, n_features)
    Xn = normalize(sp.csr_matrix(X, dtype=np.float64))
    if Xn.nnz == 0:
        return sp.csr_matrix(X.shape, dtype=np.float64)
    # TruncatedSVD's randomized solver without its explained-variance bookkeeping, on one
    # BLAS thread: on two, its float64 result moved by up to 3e-13 on 20 Newsgroups and 3
    # of the 2.8 million float32 targets changed, enough for NASH's fits to depend on the
    # thread count. The products after it gave the same values on one thread or two.
    with threadpool_limits(limits=1, user_api="blas"):
        _, _, components = randomized_svd(Xn, k, n_iter=5, random_state=random_state)
    return _largest_reconstructed(Xn, components, m, block_entries)


def _largest_reconstructed(Xn, components, m, block_entries):
    """:func:`lsa_smoothed_part` once the SVD is taken: CSR of each row's ``m`` largest
    positive reconstructed entries, rows scaled to sum to 1."""
    n, n_features = Xn.shape
    latent = Xn @ components.T  # (n, k): the rows in the LSA space
    step = max(1, block_entries // n_features)
    blocks = []
    for start in range(0, n, step):
        block, totals = largest_positive_rows(latent[start:start + step] @ components, m)
        block.data /= np.repeat(np.where(totals > 0, totals, 1.0), np.diff(block.indptr))
        blocks.append(block)
    return sp.vstack(blocks, format="csr")


def largest_positive_rows(dense, m):
    """Each row's ``m`` largest positive entries of a dense 2-D array, as CSR.

    Returns the CSR matrix (columns sorted within rows; fewer than ``m`` entries where a
    row has fewer positive ones) and each row's sum of the kept entries (float64, summed
    in :func:`largest_positive`'s order).
    """
    n = dense.shape[0]
    indices = np.empty((n, m), dtype=np.int64)
    values = np.empty((n, m), dtype=np.float64)
    counts = np.empty(n, dtype=np.int64)
    largest_positive(dense, indices, values, counts)
    keep = np.arange(m) < counts[:, None]  # the slots each row filled
    totals = values.sum(axis=1, where=keep)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    rows = sp.csr_matrix((values[keep], indices[keep], indptr), shape=dense.shape)
    rows.sort_indices()
    return rows, totals


def lsa_smoothed_targets(X, n_components, n_terms, weight, *, base=None, random_state=0):
    """Reconstruction targets: a document's own plus ``weight`` times as much again spread
    over its smoothed words (:func:`lsa_smoothed_part`).

    The own targets are those of :func:`~skhash.nash._batches.document_weights` (a
    document's weights sum to its number of distinct terms); the smoothed part of a row
    sums to ``weight`` times that.

    Parameters
    ----------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features)
        Non-negative term weights, explicit zeros removed.
    n_components, n_terms : int
        See :func:`lsa_smoothed_part`.
    weight : float
        The smoothed part's total against the document's own targets'.
    base : scipy.sparse matrix of shape (n_samples, n_features), optional
        Targets to add the smoothed part to instead of the own ones (for instance the
        neighbour-smoothed targets); the smoothed part's total is still set by the own.
    random_state : int, default=0
        Seed of the randomized SVD.

    Returns
    -------
    targets : scipy.sparse.csr_matrix of shape (n_samples, n_features), float32

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from skhash.nash._lsa_targets import lsa_smoothed_targets
    >>> X = sp.csr_matrix(np.array([[2., 1, 0, 0], [1., 2, 0, 0], [0, 0, 1, 1],
    ...                             [0, 0, 2, 1], [1., 0, 0, 0]]))
    >>> T = lsa_smoothed_targets(X, 2, 2, 0.5)
    >>> T.sum(axis=1).round(5).ravel().tolist()  # 1.5 times each row's distinct terms
    [3.0, 3.0, 3.0, 3.0, 1.5]
    """
    own = target_matrix(X).astype(np.float64)
    base = own if base is None else sp.csr_matrix(base, dtype=np.float64)
    if base.shape != X.shape:
        raise ValueError(f"base has shape {base.shape}, X has {X.shape}.")
    if weight == 0:
        return base.astype(np.float32)
    smoothed = lsa_smoothed_part(X, n_components, n_terms, random_state=random_state)
    mass = np.asarray(own.sum(axis=1)).ravel()
    return sp.csr_matrix(base + sp.diags(weight * mass) @ smoothed, dtype=np.float32)
