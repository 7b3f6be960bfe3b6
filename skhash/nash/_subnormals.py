"""Keeping the optimizers' moments out of the subnormal range (CPU training).

Adam's first moment of a weight whose gradient stays zero decays by ``beta1 = 0.9`` a
step: a rare word's row of the first layer between two of its documents, a hidden unit
that no longer fires. After some 700 such steps it falls below the smallest normal
float32 and stays subnormal for about 150 more before it reaches zero. Intel CPUs
compute on subnormal numbers through microcode assists, each some hundred cycles: on an
Intel Xeon (2026-12-07, one thread) a 50-epoch fit of NASHHasher on Reuters slowed from
0.8 s an epoch to 2.6 s as the moments decayed, 95 s in all against 46 s with the CPU's
flush-to-zero mode on. A subnormal first moment moves its weight by less than 1e-30, far
below a rounding of the weights, so the training sets it to zero, as that mode would,
but explicitly: the mode is a per-thread setting that torch's and numba's worker
threads do not share, and it would change every other operation too.

The second moment decays by ``beta2 = 0.999`` a step and needs some 60,000 idle steps to
get there from a typical 1e-10 (a dead unit's weights in a long fit on a large corpus:
13 epochs of a million documents in batches of 200); it is flushed likewise, and where
it is, its weight's step is the first moment (itself long zero) over ``eps`` either way.
"""

import numpy as np
import torch
from numba import njit

#: The smallest normal float32: a moment below it in magnitude is flushed to 0. A numpy
#: float32, so that numba's loops compare in float32.
TINY = np.finfo(np.float32).tiny


@njit(cache=True, nogil=True)
def _flush_in_place(a):
    """Zero the subnormal entries of a flat float32 array, in place."""
    for i in range(a.shape[0]):
        if abs(a[i]) < TINY:
            a[i] = np.float32(0.0)


def flush_subnormal_moments(optimizer):
    """Set the subnormal entries of a torch Adam/AdamW optimizer's moments to 0.

    Contiguous float32 CPU moments are swept in place by a compiled loop (about 0.1 ms
    a step and moment for NASHHasher's 600,000 weights besides the first layer's, where
    torch's ``abs``, comparison and ``masked_fill_`` took 1.5 ms); others through torch.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        Its ``state`` entries' ``"exp_avg"`` and ``"exp_avg_sq"`` tensors are changed in
        place.

    Examples
    --------
    >>> import torch
    >>> from skhash.nash._subnormals import flush_subnormal_moments
    >>> w = torch.nn.Parameter(torch.zeros(3))
    >>> opt = torch.optim.Adam([w])
    >>> opt.state[w]["exp_avg"] = torch.tensor([1e-3, 1e-40, -1e-39])
    >>> flush_subnormal_moments(opt)
    >>> opt.state[w]["exp_avg"].tolist()
    [0.0010000000474974513, 0.0, 0.0]
    """
    for state in optimizer.state.values():
        for name in ("exp_avg", "exp_avg_sq"):
            m = state.get(name)
            if m is None or not m.is_floating_point():
                continue
            if m.device.type == "cpu" and m.dtype == torch.float32 and m.is_contiguous():
                _flush_in_place(m.detach().view(-1).numpy())
            else:
                m.masked_fill_(m.abs() < torch.finfo(m.dtype).tiny, 0.0)
