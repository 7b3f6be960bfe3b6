"""AdamW for the encoder's first layer without its dense gradient (CPU, numba).

The first layer maps a 10,000-word vocabulary to 500 hidden units: 5 million weights,
of which a mini-batch of 200 documents touches the rows of about a third. Through
autograd, every step zero-fills a dense 10,000 x 500 gradient, sorts the batch's words
and adds their rows into it (2.1 ms a step on one thread, ng20), and torch's fused
AdamW then reads that gradient back beside the weights and both moments (2.4 ms). Here
the layer's backward pass only keeps the gradient of its output (batch x 500), and one
compiled pass over the weights forms each touched row's gradient on the fly from it and
applies the same AdamW update everywhere (untouched rows get a zero gradient: their
moments decay and their weights still move and decay, as in dense AdamW), so the dense
gradient is never written or read.

The update is torch's AdamW (Loshchilov & Hutter, ICLR 2019; ``amsgrad=False``,
``maximize=False``) in float32; the two agree to rounding, not bit for bit. A moment that
would be subnormal is stored as zero (:mod:`skhash.nash._subnormals`: on Intel CPUs
subnormal arithmetic doubled the time of a fit).
"""

import math

import numba
import numpy as np
import torch
from numba import njit, prange

from ._subnormals import TINY

#: Rows of the weight matrix updated by one task of the parallel loop.
_ROW_BLOCK = 64


@njit(cache=True, nogil=True)
def term_major(indices, n_features):
    """Positions of a batch's non-zeros grouped by term: a counting sort.

    Returns ``ptr`` (n_features + 1) and ``order`` so that the non-zeros of term ``t``
    are ``order[ptr[t]:ptr[t + 1]]``, in their original order.
    """
    ptr = np.zeros(n_features + 1, dtype=np.int64)
    for j in range(indices.shape[0]):
        ptr[indices[j] + 1] += 1
    for t in range(n_features):
        ptr[t + 1] += ptr[t]
    fill = ptr[:-1].copy()
    order = np.empty(indices.shape[0], dtype=np.int64)
    for j in range(indices.shape[0]):
        t = indices[j]
        order[fill[t]] = j
        fill[t] += 1
    return ptr, order


# Here rather than in _subnormals: numba's cache of the kernels below would not notice a
# change to a function of another module that they inline.
@njit(cache=True, nogil=True, inline="always")
def flushed(m):
    """``m``, or 0 where it is subnormal (:mod:`skhash.nash._subnormals` says why)."""
    return m if abs(m) >= TINY else np.float32(0.0)


@njit(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy", inline="always")
def _update_block(block, weight, exp_avg, exp_avg_sq, ptr, order, rows, inputs, grad_out,
                  beta1, beta2, eps, decay, step_size, bias_correction2_sqrt, grad):
    """AdamW on the rows of one block; ``grad`` is scratch of the weight's width."""
    n, d = weight.shape
    one_m_b1 = np.float32(1.0) - beta1
    one_m_b2 = np.float32(1.0) - beta2
    for t in range(block * _ROW_BLOCK, min(n, (block + 1) * _ROW_BLOCK)):
        # row views: indexing [t, c] in the inner loops kept LLVM from vectorising them
        w_t, m_t, v_t = weight[t], exp_avg[t], exp_avg_sq[t]
        if ptr[t + 1] > ptr[t]:
            j = order[ptr[t]]
            a, src = inputs[j], grad_out[rows[j]]
            for c in range(d):
                grad[c] = a * src[c]
            for e in range(ptr[t] + 1, ptr[t + 1]):
                j = order[e]
                a, src = inputs[j], grad_out[rows[j]]
                for c in range(d):
                    grad[c] += a * src[c]
            for c in range(d):
                g = grad[c]
                m = flushed(m_t[c] * beta1 + one_m_b1 * g)
                v = flushed(v_t[c] * beta2 + one_m_b2 * g * g)
                m_t[c] = m
                v_t[c] = v
                w_t[c] = w_t[c] * decay - step_size * m / (np.sqrt(v) / bias_correction2_sqrt
                                                           + eps)
        else:
            for c in range(d):
                m = flushed(m_t[c] * beta1)
                v = flushed(v_t[c] * beta2)
                m_t[c] = m
                v_t[c] = v
                w_t[c] = w_t[c] * decay - step_size * m / (np.sqrt(v) / bias_correction2_sqrt
                                                           + eps)


# The update comes compiled twice, as two functions (numba caches a function once, under
# its name: one Python function compiled with and without parallel=True shared a cache
# entry, and the "serial" one ran the parallel code). One thread runs the plain loop, so
# a one-thread process (the benchmarks' workers, joblib's) never starts numba's OpenMP
# pool, whose threads spin after each parallel loop and took two such workers from about
# 4 to 8 ms a step, and a fit of 3 epochs from about 4 to 62 s. error_model="numpy"
# (parallel=True's default) lets LLVM vectorise the division: with the "python" model's
# zero-division check the loop took 12 ms a step, not 1.7.
_FLAGS = dict(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy")


@njit(**_FLAGS)
def adamw_bag_update_serial(weight, exp_avg, exp_avg_sq, ptr, order, rows, inputs, grad_out,
                            lr, beta1, beta2, eps, weight_decay, bias_correction1,
                            bias_correction2_sqrt):
    """One AdamW step of a sum-mode embedding bag's weights, the gradient formed row by row.

    The gradient of row ``t`` is ``sum_j inputs[j] * grad_out[rows[j]]`` over the batch's
    non-zeros ``j`` of term ``t`` (``ptr``/``order`` from :func:`term_major`); it is zero
    for terms the batch does not contain. ``weight`` and both moments are updated in place.
    """
    n, d = weight.shape
    grad = np.empty(d, dtype=np.float32)
    for block in range((n + _ROW_BLOCK - 1) // _ROW_BLOCK):
        _update_block(block, weight, exp_avg, exp_avg_sq, ptr, order, rows, inputs, grad_out,
                      beta1, beta2, eps, np.float32(1.0) - lr * weight_decay,
                      lr / bias_correction1, bias_correction2_sqrt, grad)


@njit(parallel=True, **_FLAGS)
def adamw_bag_update_parallel(weight, exp_avg, exp_avg_sq, ptr, order, rows, inputs,
                              grad_out, lr, beta1, beta2, eps, weight_decay,
                              bias_correction1, bias_correction2_sqrt):
    """:func:`adamw_bag_update_serial` with its blocks of rows spread over numba's threads."""
    n, d = weight.shape
    for block in prange((n + _ROW_BLOCK - 1) // _ROW_BLOCK):
        _update_block(block, weight, exp_avg, exp_avg_sq, ptr, order, rows, inputs, grad_out,
                      beta1, beta2, eps, np.float32(1.0) - lr * weight_decay,
                      lr / bias_correction1, bias_correction2_sqrt,
                      np.empty(d, dtype=np.float32))


class BagGradient:
    """What the first layer's backward pass leaves for :class:`RowSparseAdamW`.

    :class:`~skhash.nash._network.CapturedBag` fills it: the batch's term indices, batch
    rows and input weights at forward time, the gradient of the layer's output at
    backward time.
    """

    __slots__ = ("grad_out", "indices", "inputs", "rows")

    def __init__(self):
        self.indices = self.rows = self.inputs = self.grad_out = None


class RowSparseAdamW:
    """AdamW on an embedding bag's weight from a :class:`BagGradient`, in place.

    Parameters
    ----------
    weight : torch.Tensor of shape (n_features, width)
        The layer's float32 weight (a CPU parameter, updated in place; autograd leaves
        its ``.grad`` empty).
    capture : BagGradient
        Where the layer's forward and backward passes leave the batch and the gradient.
    lr, weight_decay : float
        As :class:`torch.optim.AdamW` (``weight_decay=0`` is Adam).
    betas : tuple of float, default=(0.9, 0.999)
    eps : float, default=1e-8

    Examples
    --------
    >>> import torch
    >>> from skhash.nash._row_sparse_adamw import BagGradient, RowSparseAdamW
    >>> w = torch.zeros(3, 2)
    >>> cap = BagGradient()
    >>> cap.indices, cap.rows = torch.tensor([1]), torch.tensor([0])
    >>> cap.inputs, cap.grad_out = torch.tensor([1.0]), torch.tensor([[1.0, -1.0]])
    >>> RowSparseAdamW(w, cap, lr=0.1, weight_decay=0.0).step()
    >>> w.double().numpy().round(4).tolist()  # Adam's first step: lr against the gradient
    [[0.0, 0.0], [-0.1, 0.1], [0.0, 0.0]]
    """

    def __init__(self, weight, capture, *, lr, weight_decay, betas=(0.9, 0.999), eps=1e-8):
        if weight.device.type != "cpu" or weight.dtype != torch.float32:
            raise ValueError("RowSparseAdamW updates a float32 CPU weight.")
        self.weight = weight
        self.capture = capture
        # one group, as torch's optimizers keep them: a schedule may change its "lr"
        self.param_groups = [dict(params=[weight], lr=float(lr),
                                  weight_decay=float(weight_decay),
                                  betas=(float(betas[0]), float(betas[1])), eps=float(eps))]
        self.exp_avg = np.zeros(tuple(weight.shape), dtype=np.float32)
        self.exp_avg_sq = np.zeros(tuple(weight.shape), dtype=np.float32)
        self.n_steps = 0

    def step(self):
        """Apply one update from the captured batch and gradient, then forget them."""
        cap = self.capture
        if cap.grad_out is None:
            raise RuntimeError("no gradient captured: run the backward pass before step()")
        self.n_steps += 1
        group = self.param_groups[0]
        beta1, beta2 = group["betas"]
        indices = cap.indices.numpy()
        ptr, order = term_major(indices, self.weight.shape[0])
        grad_out = cap.grad_out.detach().to(torch.float32).contiguous().numpy()
        f32 = np.float32
        threads = min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)
        if threads > 1:
            numba.set_num_threads(threads)
            update = adamw_bag_update_parallel
        else:
            update = adamw_bag_update_serial
        update(
            self.weight.detach().numpy(), self.exp_avg, self.exp_avg_sq, ptr, order,
            cap.rows.numpy(), cap.inputs.detach().to(torch.float32).numpy(), grad_out,
            f32(group["lr"]), f32(beta1), f32(beta2), f32(group["eps"]),
            f32(group["weight_decay"]),
            f32(1.0 - beta1 ** self.n_steps), f32(math.sqrt(1.0 - beta2 ** self.n_steps)),
        )
        cap.indices = cap.rows = cap.inputs = cap.grad_out = None
