"""Sparse documents to torch mini-batches, without densifying the vocabulary."""

import numpy as np
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


class BatchPlan:
    """Rows of a CSR matrix with their weights, ready to be cut into mini-batches.

    Parameters
    ----------
    X : scipy.sparse.csr_matrix
        Non-negative, explicit zeros removed.
    """

    def __init__(self, X):
        self.n_rows = X.shape[0]
        self.indptr = X.indptr.astype(np.int64)
        self.indices = X.indices.astype(np.int64)
        self.inputs, self.targets = document_weights(X)

    def batches(self, batch_size, order=None):
        """Yield :class:`SparseBatch` of ``batch_size`` rows, in ``order`` (default: as stored)."""
        indptr, indices, inputs, targets = self.indptr, self.indices, self.inputs, self.targets
        if order is not None:
            lengths = indptr[order + 1] - indptr[order]
            new_indptr = np.zeros(len(order) + 1, dtype=np.int64)
            np.cumsum(lengths, out=new_indptr[1:])
            gather = np.repeat(indptr[order] - new_indptr[:-1], lengths)
            gather += np.arange(new_indptr[-1])
            indptr, indices = new_indptr, indices[gather]
            inputs, targets = inputs[gather], targets[gather]
        lengths = np.diff(indptr)
        row_of_value = torch.from_numpy(np.repeat(np.arange(self.n_rows, dtype=np.int64), lengths))
        indptr_t = torch.from_numpy(indptr)
        indices_t = torch.from_numpy(indices)
        inputs_t = torch.from_numpy(inputs)
        targets_t = torch.from_numpy(targets)
        for start in range(0, self.n_rows, batch_size):
            stop = min(start + batch_size, self.n_rows)
            lo, hi = int(indptr[start]), int(indptr[stop])
            yield SparseBatch(
                indices_t[lo:hi],
                indptr_t[start:stop] - lo,
                inputs_t[lo:hi],
                targets_t[lo:hi],
                row_of_value[lo:hi] - start,
                stop - start,
            )
