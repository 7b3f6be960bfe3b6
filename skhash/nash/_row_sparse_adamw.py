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

That pass still visits every row at every step, and its cost grows with the vocabulary:
on 130,107 words (raw 20 Newsgroups through a default ``TfidfVectorizer``) it took about
47 ms of a step. After its first :data:`DENSE_STEPS` steps the update is therefore lazy:
a step touches only the rows of the batch's words. A row the batch does not contain
waits; when a later batch contains it, it first takes all the steps it missed at once,
before that batch's forward pass reads it (:func:`idle_coefficients`: over steps with a
zero gradient the moments decay geometrically and the weight's movement is a sum over
the steps, evaluated by a two-node quadrature that is exact where ``sqrt(v)`` dwarfs
``eps`` and within about 1e-6 of the step-by-step sum elsewhere). The average of the
last epochs' weights (:meth:`RowSparseAdamW.start_average`) stays lazy too: a row that
sits steps out adds its values over them to its sum in closed form when it catches up
(:func:`idle_sum_coefficients`, the same quadrature). Before the weights are read (the
end of the fit) every row catches up (:meth:`RowSparseAdamW.make_current`). On 10,000
words a batch contains about half the rows, and the lazy update gave no measurable gain
(a default ng20 fit 39.7 s either way); on large vocabularies it does (measured in the
user guide).

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
def _gradient_step(t, w_t, m_t, v_t, ptr, order, rows, inputs, grad_out, beta1, beta2, eps,
                   decay, step_size, bias_correction2_sqrt, grad):
    """AdamW on row ``t`` (views ``w_t``, ``m_t``, ``v_t``), which the batch contains: its
    gradient is formed in ``grad`` (scratch of the weight's width) from the batch."""
    d = w_t.shape[0]
    one_m_b1 = np.float32(1.0) - beta1
    one_m_b2 = np.float32(1.0) - beta2
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
        w_t[c] = w_t[c] * decay - step_size * m / (np.sqrt(v) / bias_correction2_sqrt + eps)


@njit(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy", inline="always")
def _update_block(block, weight, exp_avg, exp_avg_sq, ptr, order, rows, inputs, grad_out,
                  beta1, beta2, eps, decay, step_size, bias_correction2_sqrt, grad):
    """AdamW on the rows of one block; ``grad`` is scratch of the weight's width."""
    n, d = weight.shape
    for t in range(block * _ROW_BLOCK, min(n, (block + 1) * _ROW_BLOCK)):
        # row views: indexing [t, c] in the inner loops kept LLVM from vectorising them
        w_t, m_t, v_t = weight[t], exp_avg[t], exp_avg_sq[t]
        if ptr[t + 1] > ptr[t]:
            _gradient_step(t, w_t, m_t, v_t, ptr, order, rows, inputs, grad_out, beta1, beta2,
                           eps, decay, step_size, bias_correction2_sqrt, grad)
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


#: Idle steps summed one by one when a row catches up; the later ones weigh less than
#: (0.9 / sqrt(0.999)) ** 300, about 2e-14, of the first, and are left out.
_HORIZON = 300

#: Steps that update every row before the lazy updates start (see RowSparseAdamW).
DENSE_STEPS = 200

#: Numbers per catch-up: decay, two (weight, node) pairs, the moments' factors.
_N_COEF = 7


@njit(cache=True, nogil=True)
def idle_coefficients(t0, t1, log_decay, gain, eps_scaled, beta1, beta2):
    """What steps ``t0 + 1 .. t1`` with a zero gradient do to one weight, as seven numbers.

    Over such steps AdamW multiplies the first moment by ``beta1`` and the second by
    ``beta2`` each step, decays the weight, and moves it by ``step_size * m / (sqrt(v) /
    bias_correction2_sqrt + eps)`` with the decayed moments. Step ``s``, ``j = s - t0``
    steps after the last gradient, moves it by ``gain[s] * r**j * m0 / (sqrt(v0) + e_s)``,
    with ``r = beta1 / sqrt(beta2)``, ``gain[s] = lr_s * bias_correction2_sqrt_s /
    bias_correction1_s``, ``e_s = eps_scaled[s] / beta2**(j/2)``, ``eps_scaled[s] = eps *
    bias_correction2_sqrt_s`` and ``m0``, ``v0`` the moments after step ``t0``. After the
    ``k = t1 - t0`` steps::

        w = A * w0 - m0 * F(sqrt(v0)),   F(x) = sum_s D_s * gain[s] * r**j / (x + e_s),
        m = beta1**k * m0,   v = beta2**k * v0,

    where ``A`` is the product of the steps' decay factors and ``D_s`` that of the steps
    after ``s`` (``exp`` of differences of the cumulative ``log_decay``). ``F`` is a sum of
    up to 300 terms, one per step (:data:`_HORIZON`); it is replaced by the two-node
    Gaussian quadrature of the measure with weights ``D_s * gain[s] * r**j`` at the points
    ``e_s``: ``F(x) ~ w1 / (x + n1) + w2 / (x + n2)``, exact where the ``e_s`` are equal
    (and so wherever ``sqrt(v0)`` dwarfs ``eps``), and within 1.3e-6 of ``F`` for every
    ``x >= 0`` when ``t0 >= DENSE_STEPS`` (measured over idle stretches of 1 to 1,000
    steps at the default betas); in the first steps ``bias_correction2_sqrt`` grows fast,
    the ``e_s`` spread, and the rule is less exact, which is why the first
    :data:`DENSE_STEPS` steps are dense.

    Returns ``A, w1, n1, w2, n2, beta1**k, beta2**k`` (float64).
    """
    n_terms = max(0, min(t1, t0 + _HORIZON) - t0)
    later_decay = np.empty(n_terms)
    for i in range(n_terms):
        later_decay[i] = np.exp(log_decay[t1] - log_decay[t0 + 1 + i])
    weights, points, mass, first = _idle_measure(t0, later_decay, gain, eps_scaled, beta1,
                                                 beta2)
    k = t1 - t0
    decay = np.exp(log_decay[t1] - log_decay[t0])
    w_lo, n_lo, w_hi, n_hi = _two_nodes(mass, first, weights, points)
    return decay, w_lo, n_lo, w_hi, n_hi, beta1 ** k, beta2 ** k


@njit(cache=True, nogil=True)
def _idle_measure(t0, factors, gain, eps_scaled, beta1, beta2):
    """The terms of the idle steps ``t0 + 1 ..`` (as many as ``factors``): weights
    ``factors[i] * gain[s] * r**j`` at points ``e_s`` (:func:`idle_coefficients`), their
    sum and first moment."""
    r = beta1 / np.sqrt(beta2)
    inv_sqrt_b2 = 1.0 / np.sqrt(beta2)
    n_terms = factors.shape[0]
    weights = np.empty(n_terms)
    points = np.empty(n_terms)
    rj = 1.0
    eps_growth = 1.0
    mass = 0.0
    first = 0.0
    for i in range(n_terms):
        s = t0 + 1 + i
        rj *= r
        eps_growth *= inv_sqrt_b2
        weights[i] = factors[i] * gain[s] * rj
        points[i] = eps_scaled[s] * eps_growth
        mass += weights[i]
        first += weights[i] * points[i]
    return weights, points, mass, first


@njit(cache=True, nogil=True)
def _two_nodes(mass, first, weights, points):
    """The two-node Gaussian quadrature of the measure with ``weights`` (summing to
    ``mass``, with first moment ``first``) at ``points``: ``w_lo, n_lo, w_hi, n_hi`` so
    that ``sum_i weights[i] / (x + points[i]) ~ w_lo / (x + n_lo) + w_hi / (x + n_hi)``."""
    if mass <= 0.0:  # step sizes of 0: nothing moves
        return 0.0, 1.0, 0.0, 1.0
    mean = first / mass
    # the Jacobi matrix of the measure, on the points scaled by their mean
    spread = 0.0
    skew = 0.0
    for i in range(weights.shape[0]):
        u = points[i] / mean - 1.0
        spread += weights[i] * u * u
        skew += weights[i] * (u + 1.0) * u * u
    if spread <= 1e-30 * mass:  # one point (or all equal): one node carries it all
        return mass, mean, 0.0, mean
    a0 = 1.0
    a1 = skew / spread
    b1 = spread / mass
    half = 0.5 * (a1 - a0)
    root = np.sqrt(half * half + b1)
    lo = 0.5 * (a0 + a1) - root
    hi = 0.5 * (a0 + a1) + root
    w_lo = mass * b1 / (b1 + (lo - a0) ** 2)
    return w_lo, lo * mean, mass - w_lo, hi * mean


@njit(cache=True, nogil=True)
def idle_sum_coefficients(t0, t1, log_decay, gain, eps_scaled, beta1, beta2):
    """The sum of one weight's values after each of the zero-gradient steps ``t0 + 1 ..
    t1`` (what an average over steps needs), as five numbers.

    With :func:`idle_coefficients`' notation, the weight after step ``t`` is ``A_t * w0 -
    m0 * F_t(sqrt(v0))``, so the sum over the steps is ``S * w0 - m0 * G(sqrt(v0))``:
    ``S`` the sum of the ``A_t`` and ``G(x) = sum_s C_s * gain[s] * r**j / (x + e_s)``,
    ``C_s`` the sum over ``t = s .. t1`` of the decay from step ``s`` to step ``t``. ``G``
    has the points of ``F`` with other weights, and the same two-node quadrature.

    Returns ``S, w1, n1, w2, n2`` (float64).
    """
    # C_s for s = t1 down to t0 + 1: C_t1 = 1, C_s = 1 + decay(s + 1) * C_{s + 1}
    k = t1 - t0
    carry = np.empty(k)
    acc = 0.0
    for i in range(k - 1, -1, -1):
        s = t0 + 1 + i
        acc = 1.0 + (np.exp(log_decay[s + 1] - log_decay[s]) * acc if s < t1 else 0.0)
        carry[i] = acc
    total = np.exp(log_decay[t0 + 1] - log_decay[t0]) * carry[0] if k > 0 else 0.0
    n_terms = max(0, min(t1, t0 + _HORIZON) - t0)
    weights, points, mass, first = _idle_measure(t0, carry[:n_terms], gain, eps_scaled,
                                                 beta1, beta2)
    w_lo, n_lo, w_hi, n_hi = _two_nodes(mass, first, weights, points)
    return total, w_lo, n_lo, w_hi, n_hi


@njit(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy", inline="always")
def _catch_up_row(w_t, m_t, v_t, coef, sum_t, sum_coef, summing):
    """Apply the idle steps of ``coef`` (see :func:`idle_coefficients`) to one row; with
    ``summing``, first add the row's values over those steps to ``sum_t``
    (:func:`idle_sum_coefficients`' ``sum_coef``)."""
    decay = np.float32(coef[0])
    w1, n1, w2, n2 = (np.float32(coef[1]), np.float32(coef[2]), np.float32(coef[3]),
                      np.float32(coef[4]))
    m_factor, v_factor = np.float32(coef[5]), np.float32(coef[6])
    if summing:
        total = np.float32(sum_coef[0])
        g1, p1, g2, p2 = (np.float32(sum_coef[1]), np.float32(sum_coef[2]),
                          np.float32(sum_coef[3]), np.float32(sum_coef[4]))
        for c in range(w_t.shape[0]):
            x = np.sqrt(v_t[c])
            a = x + p1
            b = a + (p2 - p1)
            sum_t[c] += w_t[c] * total - m_t[c] * (g1 * b + g2 * a) / (a * b)
    for c in range(w_t.shape[0]):
        m0 = m_t[c]
        v0 = v_t[c]
        a = np.sqrt(v0) + n1
        b = a + (n2 - n1)
        # w1 / a + w2 / b with one division (the kernel is bound by its divisions)
        w_t[c] = w_t[c] * decay - m0 * (w1 * b + w2 * a) / (a * b)
        m_t[c] = flushed(m0 * m_factor)
        v_t[c] = flushed(v0 * v_factor)


@njit(cache=True, nogil=True)
def _catch_up_plan(row_list, last, t1, log_decay, gain, eps_scaled, beta1, beta2, summing):
    """The coefficients of catching each of ``row_list`` up from ``last[row]`` to ``t1``:
    arrays indexed by ``last[row]`` (computed once for each distinct one), those of
    :func:`idle_coefficients` and, with ``summing``, of :func:`idle_sum_coefficients`."""
    coefs = np.zeros((t1 + 1, _N_COEF))
    sum_coefs = np.zeros((t1 + 1 if summing else 1, 5))
    known = np.zeros(t1 + 1, dtype=np.bool_)
    for i in range(row_list.shape[0]):
        t0 = last[row_list[i]]
        if t0 < t1 and not known[t0]:
            coefs[t0] = idle_coefficients(t0, t1, log_decay, gain, eps_scaled, beta1, beta2)
            if summing:
                sum_coefs[t0] = idle_sum_coefficients(t0, t1, log_decay, gain, eps_scaled,
                                                      beta1, beta2)
            known[t0] = True
    return coefs, sum_coefs


@njit(cache=True, nogil=True)
def touched_rows(ptr):
    """The terms (rows) a batch contains, ascending, from :func:`term_major`'s ``ptr``."""
    n = ptr.shape[0] - 1
    count = 0
    for t in range(n):
        if ptr[t + 1] > ptr[t]:
            count += 1
    out = np.empty(count, dtype=np.int64)
    count = 0
    for t in range(n):
        if ptr[t + 1] > ptr[t]:
            out[count] = t
            count += 1
    return out


@njit(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy", inline="always")
def _lazy_block(block, touched, coefs, sum_coefs, sums, summing, last, step, weight,
                exp_avg, exp_avg_sq, ptr, order, rows, inputs, grad_out, beta1, beta2, eps,
                decay, step_size, bias_correction2_sqrt, grad):
    """Catch up and update the touched rows of one block of ``touched`` (and, with
    ``summing``, add their values over the steps to ``sums``)."""
    stop = min(touched.shape[0], (block + 1) * _ROW_BLOCK)
    for i in range(block * _ROW_BLOCK, stop):
        t = touched[i]
        w_t, m_t, v_t = weight[t], exp_avg[t], exp_avg_sq[t]
        sum_t = sums[t] if summing else w_t
        if last[t] < step - 1:
            _catch_up_row(w_t, m_t, v_t, coefs[last[t]], sum_t,
                          sum_coefs[last[t] if summing else 0], summing)
        _gradient_step(t, w_t, m_t, v_t, ptr, order, rows, inputs, grad_out, beta1, beta2,
                       eps, decay, step_size, bias_correction2_sqrt, grad)
        if summing:
            for c in range(w_t.shape[0]):
                sum_t[c] += w_t[c]
        last[t] = step


@njit(**_FLAGS)
def adamw_bag_lazy_serial(weight, exp_avg, exp_avg_sq, last, step, log_decay, gain,
                          eps_scaled, sums, summing, ptr, order, rows, inputs, grad_out, lr,
                          beta1, beta2, eps, weight_decay, bias_correction1,
                          bias_correction2_sqrt):
    """Step ``step`` of :func:`adamw_bag_update_serial` on the batch's rows only.

    Each row the batch contains is first brought from ``last[row]`` to step ``step - 1``
    by :func:`idle_coefficients` (its steps without a gradient, at once), then updated
    with its gradient, and ``last[row]`` set to ``step``; the other rows wait. With
    ``summing``, each such row's values after those steps are added to ``sums[row]``.
    """
    d = weight.shape[1]
    touched = touched_rows(ptr)
    coefs, sum_coefs = _catch_up_plan(touched, last, step - 1, log_decay, gain, eps_scaled,
                                      np.float64(beta1), np.float64(beta2), summing)
    grad = np.empty(d, dtype=np.float32)
    for block in range((touched.shape[0] + _ROW_BLOCK - 1) // _ROW_BLOCK):
        _lazy_block(block, touched, coefs, sum_coefs, sums, summing, last, step, weight,
                    exp_avg, exp_avg_sq, ptr, order, rows, inputs, grad_out, beta1, beta2, eps,
                    np.float32(1.0) - lr * weight_decay, lr / bias_correction1,
                    bias_correction2_sqrt, grad)


@njit(parallel=True, **_FLAGS)
def adamw_bag_lazy_parallel(weight, exp_avg, exp_avg_sq, last, step, log_decay, gain,
                            eps_scaled, sums, summing, ptr, order, rows, inputs, grad_out, lr,
                            beta1, beta2, eps, weight_decay, bias_correction1,
                            bias_correction2_sqrt):
    """:func:`adamw_bag_lazy_serial` with its blocks of rows spread over numba's threads."""
    d = weight.shape[1]
    touched = touched_rows(ptr)
    coefs, sum_coefs = _catch_up_plan(touched, last, step - 1, log_decay, gain, eps_scaled,
                                      np.float64(beta1), np.float64(beta2), summing)
    for block in prange((touched.shape[0] + _ROW_BLOCK - 1) // _ROW_BLOCK):
        _lazy_block(block, touched, coefs, sum_coefs, sums, summing, last, step, weight,
                    exp_avg, exp_avg_sq, ptr, order, rows, inputs, grad_out, beta1, beta2, eps,
                    np.float32(1.0) - lr * weight_decay, lr / bias_correction1,
                    bias_correction2_sqrt, np.empty(d, dtype=np.float32))


@njit(cache=True, nogil=True)
def _distinct_stale(indices, last, step):
    """The distinct rows among ``indices`` that are behind ``step``, ascending."""
    n = last.shape[0]
    mark = np.zeros(n, dtype=np.bool_)
    count = 0
    for j in range(indices.shape[0]):
        t = indices[j]
        if last[t] < step and not mark[t]:
            mark[t] = True
            count += 1
    out = np.empty(count, dtype=np.int64)
    count = 0
    for t in range(n):
        if mark[t]:
            out[count] = t
            count += 1
    return out


@njit(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy", inline="always")
def _catch_up_block(block, stale, coefs, sum_coefs, sums, summing, last, step, weight,
                    exp_avg, exp_avg_sq):
    for i in range(block * _ROW_BLOCK, min(stale.shape[0], (block + 1) * _ROW_BLOCK)):
        t = stale[i]
        _catch_up_row(weight[t], exp_avg[t], exp_avg_sq[t], coefs[last[t]],
                      sums[t] if summing else weight[t],
                      sum_coefs[last[t] if summing else 0], summing)
        last[t] = step


@njit(**_FLAGS)
def catch_up_rows_serial(weight, exp_avg, exp_avg_sq, last, step, indices, log_decay, gain,
                         eps_scaled, beta1, beta2, sums, summing):
    """Bring the rows ``indices`` names from ``last[row]`` to step ``step`` (idle steps),
    each once, and set their ``last`` (with ``summing``, adding their values over those
    steps to ``sums``)."""
    stale = _distinct_stale(indices, last, step)
    coefs, sum_coefs = _catch_up_plan(stale, last, step, log_decay, gain, eps_scaled, beta1,
                                      beta2, summing)
    for block in range((stale.shape[0] + _ROW_BLOCK - 1) // _ROW_BLOCK):
        _catch_up_block(block, stale, coefs, sum_coefs, sums, summing, last, step, weight,
                        exp_avg, exp_avg_sq)


@njit(parallel=True, **_FLAGS)
def catch_up_rows_parallel(weight, exp_avg, exp_avg_sq, last, step, indices, log_decay, gain,
                           eps_scaled, beta1, beta2, sums, summing):
    """:func:`catch_up_rows_serial` with its blocks of rows spread over numba's threads."""
    stale = _distinct_stale(indices, last, step)
    coefs, sum_coefs = _catch_up_plan(stale, last, step, log_decay, gain, eps_scaled, beta1,
                                      beta2, summing)
    for block in prange((stale.shape[0] + _ROW_BLOCK - 1) // _ROW_BLOCK):
        _catch_up_block(block, stale, coefs, sum_coefs, sums, summing, last, step, weight,
                        exp_avg, exp_avg_sq)


class BagGradient:
    """What the first layer's backward pass leaves for :class:`RowSparseAdamW`.

    :class:`~skhash.nash._network.CapturedBag` fills it: the batch's term indices, batch
    rows and input weights at forward time, the gradient of the layer's output at
    backward time.
    """

    __slots__ = ("before_forward", "grad_out", "indices", "inputs", "rows")

    def __init__(self):
        self.indices = self.rows = self.inputs = self.grad_out = None
        #: called with the batch's term indices before the layer reads its weight (the
        #: lazy update's catch-up of those rows), or None
        self.before_forward = None


class RowSparseAdamW:
    """AdamW on an embedding bag's weight from a :class:`BagGradient`, in place.

    By default (``lazy=True``) a step updates only the rows its batch contains: each
    such row first takes, at once, the steps without a gradient it has missed since its
    last update (:func:`idle_coefficients`), then its own. The other rows wait, so a step
    costs the batch's rows rather than the whole vocabulary's. :meth:`make_current`
    brings every row up to date and from then on updates every row at each step (what
    the training does at its end). :meth:`start_average` keeps, from then on, each
    row's sum over the steps, the idle ones added in closed form as the row catches up
    (:func:`idle_sum_coefficients`); :meth:`average` gives the mean. The lazy and the
    dense updates agree to rounding, except for a weight whose second moment is within a
    few ``eps`` of zero.

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
    lazy : bool, default=True
        Update only the batch's rows (see above); False updates every row at each step.

    Examples
    --------
    >>> import torch
    >>> from skhash.nash._row_sparse_adamw import BagGradient, RowSparseAdamW
    >>> w = torch.zeros(3, 2)
    >>> cap = BagGradient()
    >>> cap.indices, cap.rows = torch.tensor([1]), torch.tensor([0])
    >>> cap.inputs, cap.grad_out = torch.tensor([1.0]), torch.tensor([[1.0, -1.0]])
    >>> optimizer = RowSparseAdamW(w, cap, lr=0.1, weight_decay=0.0)
    >>> optimizer.step()
    >>> optimizer.make_current()
    >>> w.double().numpy().round(4).tolist()  # Adam's first step: lr against the gradient
    [[0.0, 0.0], [-0.1, 0.1], [0.0, 0.0]]
    """

    def __init__(self, weight, capture, *, lr, weight_decay, betas=(0.9, 0.999), eps=1e-8,
                 lazy=True):
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
        self.lazy = bool(lazy)
        # the step each row was last brought to (lazy mode), and per step s (index s,
        # from 1) what idle_coefficients needs: the cumulative log of the decay factors,
        # the movement factor and the scaled eps
        self._last = np.zeros(weight.shape[0], dtype=np.int64)
        self._log_decay = np.zeros(64)
        self._gain = np.zeros(64)
        self._eps_scaled = np.zeros(64)
        self._betas = self.param_groups[0]["betas"]
        # the sum of each row's values over the steps since start_average (a dummy row
        # until then) and the number of those steps
        self._sums = np.zeros((1, weight.shape[1]), dtype=np.float32)
        self.summing = False
        self.n_summed = 0
        capture.before_forward = self._catch_up_batch

    def _record(self, decay, step_size, bias_correction2_sqrt, eps):
        """Keep step ``n_steps``' factors for later catch-ups (float32 values, as used)."""
        t = self.n_steps
        if t >= self._gain.shape[0]:
            grow = self._gain.shape[0]
            self._log_decay = np.concatenate([self._log_decay, np.zeros(grow)])
            self._gain = np.concatenate([self._gain, np.zeros(grow)])
            self._eps_scaled = np.concatenate([self._eps_scaled, np.zeros(grow)])
        self._log_decay[t] = self._log_decay[t - 1] + math.log(float(decay))
        self._gain[t] = float(step_size) * float(bias_correction2_sqrt)
        self._eps_scaled[t] = float(eps) * float(bias_correction2_sqrt)

    def step(self):
        """Apply one update from the captured batch and gradient, then forget them."""
        cap = self.capture
        if cap.grad_out is None:
            raise RuntimeError("no gradient captured: run the backward pass before step()")
        group = self.param_groups[0]
        beta1, beta2 = group["betas"]
        if self.lazy and (beta1, beta2) != self._betas:
            # the catch-up assumes the betas of the steps it replays
            self.make_current()
        self._betas = (beta1, beta2)
        self.n_steps += 1
        indices = cap.indices.numpy()
        ptr, order = term_major(indices, self.weight.shape[0])
        grad_out = cap.grad_out.detach().to(torch.float32).contiguous().numpy()
        f32 = np.float32
        lr, weight_decay, eps = f32(group["lr"]), f32(group["weight_decay"]), f32(group["eps"])
        bias_correction1 = f32(1.0 - beta1 ** self.n_steps)
        bias_correction2_sqrt = f32(math.sqrt(1.0 - beta2 ** self.n_steps))
        self._record(f32(1.0) - lr * weight_decay, lr / bias_correction1,
                     bias_correction2_sqrt, eps)
        threads = self._threads()
        batch = (ptr, order, cap.rows.numpy(), cap.inputs.detach().to(torch.float32).numpy(),
                 grad_out, lr, f32(beta1), f32(beta2), eps, weight_decay, bias_correction1,
                 bias_correction2_sqrt)
        weight = self.weight.detach().numpy()
        if self.lazy and self.n_steps > DENSE_STEPS:
            update = adamw_bag_lazy_parallel if threads > 1 else adamw_bag_lazy_serial
            update(weight, self.exp_avg, self.exp_avg_sq, self._last, self.n_steps,
                   self._log_decay, self._gain, self._eps_scaled, self._sums, self.summing,
                   *batch)
        else:
            update = adamw_bag_update_parallel if threads > 1 else adamw_bag_update_serial
            update(weight, self.exp_avg, self.exp_avg_sq, *batch)
            self._last.fill(self.n_steps)
            if self.summing:
                self._sums += weight
        if self.summing:
            self.n_summed += 1
        cap.indices = cap.rows = cap.inputs = cap.grad_out = None

    def _threads(self):
        threads = min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)
        if threads > 1:
            numba.set_num_threads(threads)
        return threads

    def _catch_up(self, rows):
        """Bring ``rows`` (term indices, repeats allowed) up to the last step."""
        beta1, beta2 = self._betas
        kernel = catch_up_rows_parallel if self._threads() > 1 else catch_up_rows_serial
        kernel(self.weight.detach().numpy(), self.exp_avg, self.exp_avg_sq, self._last,
               self.n_steps, rows, self._log_decay, self._gain, self._eps_scaled,
               float(beta1), float(beta2), self._sums, self.summing)

    def _catch_up_batch(self, indices):
        """Before a forward pass: bring the rows of the batch's terms up to date."""
        if self.lazy and self.n_steps > DENSE_STEPS:
            self._catch_up(indices.numpy())

    def _catch_up_all(self):
        if self.lazy:
            self._catch_up(np.arange(self.weight.shape[0]))

    def make_current(self):
        """Bring every row up to date (the steps each has missed) and update every row at
        each later step: what must happen before the weight is read."""
        self._catch_up_all()
        self.lazy = False

    def start_average(self):
        """Average the weight over the steps from here on, without reading every row at
        each step: a row's values over the steps it sits out are summed in closed form
        (:func:`idle_sum_coefficients`) when it catches up. :meth:`average` gives the
        mean."""
        self._catch_up_all()
        self._sums = np.zeros(tuple(self.weight.shape), dtype=np.float32)
        self.summing = True
        self.n_summed = 0

    def average(self):
        """The mean of the weight over the steps since :meth:`start_average` (every row
        brought up to date first), as a float32 array; None before any such step."""
        if not self.summing or self.n_summed == 0:
            return None
        self._catch_up_all()
        return self._sums / np.float32(self.n_summed)
