"""Sparse documents to torch mini-batches, without densifying the vocabulary."""

import numpy as np
import scipy.sparse as sp
import torch

from ._network import SparseBatch


def document_weights(X):
    """Encoder inputs and reconstruction targets for each stored value of CSR ``X``.

    The encoder sees each row scaled to unit L2 norm, so TF-IDF rows pass unchanged and
    raw counts are put on the same scale.  The decoder reconstructs the row's weights
    rescaled to sum to its number of distinct terms: an L2-normalised TF-IDF row sums to
    only about sqrt(n_terms), which lets the KL term swamp the reconstruction and the codes
    carry almost nothing; rescaled, a document weighs about as much as its length in words,
    whatever weighting produced it.  Rows with no stored value have neither.
    """
    data = X.data.astype(np.float64)
    row_len = np.diff(X.indptr)
    rows = np.repeat(np.arange(X.shape[0]), row_len)
    sq = np.bincount(rows, weights=data * data, minlength=X.shape[0])
    total = np.bincount(rows, weights=data, minlength=X.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        inputs = data / np.sqrt(sq)[rows]
        targets = data * (row_len / total)[rows]
    return inputs.astype(np.float32), targets.astype(np.float32)


def target_matrix(X):
    """The reconstruction targets of :func:`document_weights` as a CSR matrix like X."""
    _, targets = document_weights(X)
    return sp.csr_matrix((targets, X.indices.copy(), X.indptr.copy()), shape=X.shape)


class _RowStore:
    """CSR arrays (int64 indptr/indices, float32 values) that can be gathered by rows."""

    def __init__(self, indptr, indices, *values):
        self.indptr = indptr.astype(np.int64)
        self.indices = indices.astype(np.int64)
        self.values = values

    def in_order(self, order):
        """CSR arrays of the rows in ``order`` (as stored when None), as torch tensors."""
        indptr, indices, values = self.indptr, self.indices, self.values
        if order is not None:
            lengths = indptr[order + 1] - indptr[order]
            new_indptr = np.zeros(len(order) + 1, dtype=np.int64)
            np.cumsum(lengths, out=new_indptr[1:])
            gather = np.repeat(indptr[order] - new_indptr[:-1], lengths)
            gather += np.arange(new_indptr[-1])
            indptr, indices = new_indptr, indices[gather]
            values = tuple(v[gather] for v in values)
        row_of_value = np.repeat(np.arange(len(indptr) - 1, dtype=np.int64), np.diff(indptr))
        return (indptr, torch.from_numpy(indices), torch.from_numpy(row_of_value),
                *(torch.from_numpy(v) for v in values))


class BatchPlan:
    """Rows of a CSR matrix with their weights, ready to be cut into mini-batches.

    Parameters
    ----------
    X : scipy.sparse.csr_matrix
        Non-negative, explicit zeros removed: what the encoder reads.
    targets : scipy.sparse.csr_matrix, optional
        What the decoder reconstructs for each row, with its own sparsity pattern.
        Default: :func:`document_weights` of X (the document's own terms).
    """

    def __init__(self, X, targets=None):
        self.n_rows = X.shape[0]
        inputs, own_targets = document_weights(X)
        if targets is None:
            self._inputs = _RowStore(X.indptr, X.indices, inputs, own_targets)
            self._targets = None
        else:
            if targets.shape[0] != X.shape[0]:
                raise ValueError(
                    f"targets has {targets.shape[0]} rows, X has {X.shape[0]}."
                )
            self._inputs = _RowStore(X.indptr, X.indices, inputs)
            self._targets = _RowStore(
                targets.indptr, targets.indices, targets.data.astype(np.float32)
            )

    def batches(self, batch_size, order=None):
        """Yield :class:`SparseBatch` of ``batch_size`` rows, in ``order`` (default: as stored)."""
        indptr, indices, rows, inputs, *own = self._inputs.in_order(order)
        if self._targets is None:
            t_indptr, t_indices, t_rows, targets = indptr, indices, rows, own[0]
        else:
            t_indptr, t_indices, t_rows, targets = self._targets.in_order(order)
        indptr_t = torch.from_numpy(indptr)
        for start in range(0, self.n_rows, batch_size):
            stop = min(start + batch_size, self.n_rows)
            lo, hi = int(indptr[start]), int(indptr[stop])
            t_lo, t_hi = int(t_indptr[start]), int(t_indptr[stop])
            yield SparseBatch(
                indices[lo:hi],
                indptr_t[start:stop] - lo,
                inputs[lo:hi],
                rows[lo:hi] - start,
                t_indices[t_lo:t_hi],
                targets[t_lo:t_hi],
                t_rows[t_lo:t_hi] - start,
                stop - start,
            )
