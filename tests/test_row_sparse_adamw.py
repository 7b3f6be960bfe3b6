"""The first layer's AdamW without a dense gradient agrees with autograd + torch's AdamW."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from torch.nn import functional as F

from sklearn.base import clone

from skhash import NASHHasher
from skhash.baselines import VDSHHasher
from skhash.nash._network import CapturedBag
from skhash.nash._row_sparse_adamw import BagGradient, RowSparseAdamW, term_major


def test_term_major_groups_positions_by_term_in_order():
    ptr, order = term_major(np.array([2, 0, 2, 3, 0, 2], dtype=np.int64), 5)
    assert ptr.tolist() == [0, 2, 2, 5, 6, 6]
    assert order.tolist() == [1, 4, 0, 2, 5, 3]


def _batches():
    """Three sparse batches: term 1 twice in one batch, term 4 only in the first batch
    (so it later moves by momentum alone), term 5 never."""
    return [
        # (indices, offsets, inputs, grad of the bag's output)
        ([0, 1, 4, 1, 2], [0, 3], [0.5, 1.0, 2.0, 0.25, 1.5], [[1.0, -2.0, 0.5], [0.3, 0.1, -1.0]]),
        ([3, 1], [0, 1], [1.0, 0.7], [[-0.4, 0.2, 0.9], [2.0, 0.0, -0.3]]),
        ([0, 2, 3], [0, 2], [1.0, 1.0, 0.2], [[0.05, -0.6, 0.3], [-1.2, 0.8, 0.1]]),
    ]


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_row_sparse_adamw_matches_dense_autograd_and_torch_adamw(weight_decay):
    init = torch.randn(6, 3, generator=torch.Generator().manual_seed(0))
    dense = init.clone().requires_grad_()
    reference = torch.optim.AdamW([dense], lr=0.01, weight_decay=weight_decay)
    sparse = init.clone()
    capture = BagGradient()
    optimizer = RowSparseAdamW(sparse, capture, lr=0.01, weight_decay=weight_decay)
    for indices, offsets, inputs, grad in _batches():
        indices, offsets = torch.tensor(indices), torch.tensor(offsets)
        inputs, grad = torch.tensor(inputs), torch.tensor(grad)
        lengths = torch.diff(offsets, append=torch.tensor([len(indices)]))
        rows = torch.repeat_interleave(torch.arange(2), lengths)
        reference.zero_grad()
        out = F.embedding_bag(indices, dense, offsets, mode="sum", per_sample_weights=inputs)
        out.backward(grad)
        reference.step()
        w = sparse.clone().requires_grad_()
        out = CapturedBag.apply(w, indices, offsets, inputs, rows, capture)
        assert capture.indices is indices and capture.rows is rows
        out.backward(grad)
        assert w.grad is None  # no dense gradient was built
        np.testing.assert_array_equal(capture.grad_out.numpy(), grad.numpy())
        optimizer.step()
        np.testing.assert_allclose(sparse.numpy(), dense.detach().numpy(), rtol=1e-5, atol=1e-7)
        assert capture.grad_out is None  # consumed
    # the never-touched row 5 only decayed; row 4 (touched once) kept moving by momentum
    np.testing.assert_allclose(sparse[5].numpy(),
                               init[5].numpy() * (1 - 0.01 * weight_decay) ** 3, rtol=1e-6)
    decayed_only = init[4].numpy() * (1 - 0.01 * weight_decay) ** 3
    assert np.abs(sparse[4].numpy() - decayed_only).min() > 1e-3


def test_step_without_a_captured_gradient_is_an_error():
    optimizer = RowSparseAdamW(torch.zeros(3, 2), BagGradient(), lr=0.1, weight_decay=0.0)
    with pytest.raises(RuntimeError, match="no gradient captured"):
        optimizer.step()


def test_row_sparse_adamw_refuses_other_than_float32_cpu():
    with pytest.raises(ValueError, match="float32 CPU"):
        RowSparseAdamW(torch.zeros(3, 2, dtype=torch.float64), BagGradient(), lr=0.1,
                       weight_decay=0.0)


def _corpus():
    rng = np.random.default_rng(0)
    return sp.random(120, 40, density=0.15, format="csr", random_state=rng, dtype=np.float64) * 3


@pytest.mark.parametrize("estimator", [
    NASHHasher(8, hidden_layer_sizes=(16,), max_iter=2, batch_size=30, random_state=0),
    # the last epoch averaged: RowSparseAdamW's own average against WeightAverage's
    NASHHasher(8, hidden_layer_sizes=(16,), max_iter=5, batch_size=30, random_state=0),
    VDSHHasher(8, hidden_layer_sizes=(16, 16), max_iter=2, batch_size=30, random_state=0),
])
def test_fit_agrees_with_the_dense_first_layer_update(estimator, monkeypatch):
    X = _corpus()
    fitted = {}
    for row_sparse in (False, True):
        monkeypatch.setattr(type(estimator), "_row_sparse_first_layer", row_sparse)
        model = pickle.loads(pickle.dumps(estimator)).fit(X)
        fitted[row_sparse] = model
    a = fitted[False].network_.state_dict()
    b = fitted[True].network_.state_dict()
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_allclose(b[name].numpy(), a[name].numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=name)
    np.testing.assert_allclose(fitted[True].loss_curve_, fitted[False].loss_curve_, rtol=1e-5)
    # nothing of the training's plumbing stays on the fitted model
    assert fitted[True].network_.encoder.capture is None
    assert fitted[True].network_.encoder.embed.weight.grad is None
    pickle.loads(pickle.dumps(fitted[True])).transform(X)


def test_serial_and_parallel_kernels_give_the_same_bits():
    from skhash.nash._row_sparse_adamw import (
        adamw_bag_update_parallel,
        adamw_bag_update_serial,
    )

    rng = np.random.default_rng(3)
    indices = rng.integers(0, 300, 500)
    ptr, order = term_major(indices, 300)
    rows = rng.integers(0, 20, 500)
    inputs = rng.random(500).astype(np.float32)
    grad_out = rng.standard_normal((20, 70)).astype(np.float32)
    states = []
    for kernel in (adamw_bag_update_serial, adamw_bag_update_parallel):
        w = np.ones((300, 70), dtype=np.float32)
        m = np.full_like(w, 0.01)
        v = np.full_like(w, 1e-4)
        f = np.float32
        kernel(w, m, v, ptr, order, rows, inputs, grad_out, f(0.01), f(0.9), f(0.999),
               f(1e-8), f(0.01), f(0.19), f(0.0447))
        states.append((w, m, v))
    for a, b in zip(*states):
        np.testing.assert_array_equal(a, b)
    untouched = np.setdiff1d(np.arange(300), indices)
    assert untouched.size > 0
    np.testing.assert_allclose(states[0][1][untouched], 0.009)  # momentum decayed only


def test_an_encoder_pickled_without_the_capture_attribute_still_encodes():
    X = _corpus()
    model = NASHHasher(8, hidden_layer_sizes=(16,), max_iter=1, random_state=0).fit(X)
    codes = model.transform(X)
    state = pickle.loads(pickle.dumps(model))
    # as pickled by a version whose encoder had no ``capture``
    state.network_.encoder.__dict__.pop("capture", None)
    assert "capture" not in state.network_.encoder.__dict__
    np.testing.assert_array_equal(state.transform(X), codes)
    state.set_params(warm_start=True, max_iter=1).fit(X)  # and trains on
    assert state.network_.encoder.capture is None


# -- the lazy update: only the batch's rows, the others catching up when next used -----

def _zipf_batches(n_steps, n_features=400, width=24, n_rows=10, nnz=60, seed=1):
    """Batches whose words follow a Zipf law: common words every step, rare ones idle for
    hundreds of steps; gradients of scales from 1e-5 to 1e-1 (some moments near eps)."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, n_features + 1)
    p /= p.sum()
    for _ in range(n_steps):
        yield (torch.from_numpy(rng.choice(n_features, nnz, p=p).astype(np.int64)),
               torch.from_numpy(np.sort(rng.integers(0, n_rows, nnz))),
               torch.from_numpy(rng.random(nnz).astype(np.float32)),
               torch.from_numpy((rng.standard_normal((n_rows, width))
                                 * 10 ** rng.uniform(-5, -1)).astype(np.float32)))


def _train_first_layer(lazy, n_steps, threads=1, weight_decay=0.01, lr_change_at=None):
    init = torch.randn(400, 24, generator=torch.Generator().manual_seed(0)) * 0.05
    weight, capture = init.clone(), BagGradient()
    optimizer = RowSparseAdamW(weight, capture, lr=3e-3, weight_decay=weight_decay,
                               lazy=lazy)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for step, (indices, rows, inputs, grad_out) in enumerate(_zipf_batches(n_steps)):
            if step == lr_change_at:
                optimizer.param_groups[0]["lr"] = 1e-3  # a schedule's change
            capture.indices, capture.rows = indices, rows
            capture.inputs, capture.grad_out = inputs, grad_out
            optimizer.step()
    finally:
        torch.set_num_threads(previous)
    return weight, optimizer


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("weight_decay,lr_change_at", [(0.0, None), (0.01, 500)])
def test_lazy_update_agrees_with_updating_every_row(threads, weight_decay, lr_change_at):
    from skhash.nash._row_sparse_adamw import DENSE_STEPS

    n_steps = DENSE_STEPS + 700
    dense_w, dense = _train_first_layer(False, n_steps, threads, weight_decay, lr_change_at)
    lazy_w, lazy = _train_first_layer(True, n_steps, threads, weight_decay, lr_change_at)
    assert lazy.lazy
    stale = lazy._last < n_steps
    assert stale.sum() > 100  # rows waiting for their idle steps
    assert (n_steps - lazy._last[stale]).max() > 100  # some for a hundred steps and more
    lazy.make_current()
    assert not lazy.lazy and (lazy._last == n_steps).all()
    # the weights moved by up to ~0.5 in 900 steps; they agree to float32 rounding
    assert (dense_w - torch.randn(400, 24, generator=torch.Generator().manual_seed(0))
            * 0.05).abs().max() > 0.1
    np.testing.assert_allclose(lazy_w.numpy(), dense_w.numpy(), rtol=0, atol=5e-6)
    # the moments: beta**k at once against k roundings of beta * m, so rtol ~ k * 2**-24
    np.testing.assert_allclose(lazy.exp_avg, dense.exp_avg, rtol=1e-4, atol=1e-11)
    np.testing.assert_allclose(lazy.exp_avg_sq, dense.exp_avg_sq, rtol=1e-4, atol=1e-14)


def test_lazy_update_leaves_other_rows_until_they_are_used():
    from skhash.nash._row_sparse_adamw import DENSE_STEPS

    weight, optimizer = _train_first_layer(True, DENSE_STEPS + 50)
    stale = np.flatnonzero(optimizer._last < DENSE_STEPS + 50)
    before = weight[stale].clone()
    cap = optimizer.capture
    cap.indices, cap.rows = torch.tensor([0]), torch.tensor([0])
    cap.inputs, cap.grad_out = torch.tensor([1.0]), torch.ones(1, 24)
    optimizer.step()  # a batch of word 0 alone: the stale rows do not move
    stale = stale[stale != 0]
    np.testing.assert_array_equal(weight[stale].numpy(), before[1:].numpy()
                                  if before.shape[0] > stale.shape[0] else before.numpy())
    optimizer.make_current()
    assert (weight[stale] != before[-stale.shape[0]:]).any()
    after = weight.clone()
    optimizer.make_current()  # nothing left to catch up
    np.testing.assert_array_equal(weight.numpy(), after.numpy())


def _schedule(n, beta1, beta2, eps, lr, decay):
    """Per step 0..n at a constant lr: the bias corrections and what RowSparseAdamW
    records for its catch-ups."""
    s = np.arange(n + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        bc1, bc2_sqrt = 1 - beta1 ** s, np.sqrt(1 - beta2 ** s)
        gain = np.where(s > 0, lr / bc1 * bc2_sqrt, 0.0)
    return bc1, bc2_sqrt, np.log(decay) * s, gain, eps * bc2_sqrt


def test_idle_coefficients_and_sums_match_the_steps_one_by_one():
    from skhash.nash._row_sparse_adamw import (
        DENSE_STEPS,
        idle_coefficients,
        idle_sum_coefficients,
    )

    beta1, beta2, eps, lr, decay = 0.9, 0.999, 1e-8, 3e-3, 1 - 3e-3 * 0.01
    bc1, bc2_sqrt, log_decay, gain, eps_scaled = _schedule(DENSE_STEPS + 2000, beta1, beta2,
                                                           eps, lr, decay)
    for t0, k in [(DENSE_STEPS, 1), (DENSE_STEPS, 2), (DENSE_STEPS + 3, 40), (600, 1000)]:
        coef = idle_coefficients(t0, t0 + k, log_decay, gain, eps_scaled, beta1, beta2)
        sums = idle_sum_coefficients(t0, t0 + k, log_decay, gain, eps_scaled, beta1, beta2)
        for m0, v0 in [(1e-3, 1e-6), (-2e-7, 1e-16), (5e-9, 0.0), (0.0, 1e-4)]:
            w, m, v, total, kept = 0.2, m0, v0, 0.0, 0.0
            for step in range(t0 + 1, t0 + k + 1):  # AdamW with a zero gradient, float64
                m, v = beta1 * m, beta2 * v
                w = w * decay - lr / bc1[step] * m / (np.sqrt(v) / bc2_sqrt[step] + eps)
                total += w  # the sum an average over the steps needs
                kept += 0.2 * decay ** (step - t0)
            x = np.sqrt(v0)
            closed = 0.2 * coef[0] - m0 * (coef[1] / (x + coef[2]) + coef[3] / (x + coef[4]))
            moved = abs(w - 0.2 * coef[0])
            assert abs(closed - w) <= 2e-6 * moved + 1e-15, (t0, k, m0, v0)
            assert coef[5] == pytest.approx(beta1 ** k) and coef[6] == pytest.approx(beta2 ** k)
            assert sums[0] == pytest.approx(kept / 0.2, rel=1e-12)
            closed = 0.2 * sums[0] - m0 * (sums[1] / (x + sums[2]) + sums[3] / (x + sums[4]))
            moved = abs(total - kept)
            assert abs(closed - total) <= 2e-6 * moved + 1e-14 * abs(total), (t0, k, m0, v0)


def test_serial_and_parallel_lazy_kernels_give_the_same_bits():
    states = []
    for threads in (1, 2):
        weight, optimizer = _train_first_layer(True, 260, threads)
        states.append((weight.numpy(), optimizer.exp_avg, optimizer.exp_avg_sq,
                       optimizer._last))
    for a, b in zip(*states):
        np.testing.assert_array_equal(a, b)


def test_fit_with_the_lazy_update_agrees_with_updating_every_row(monkeypatch):
    X = _corpus()
    # 12 steps an epoch, 30 epochs: 360 steps, past the dense start
    estimator = NASHHasher(8, hidden_layer_sizes=(16,), max_iter=30, batch_size=10,
                           random_state=0)
    fitted = {}
    for lazy in (False, True):
        monkeypatch.setattr(NASHHasher, "_lazy_first_layer", lazy)
        fitted[lazy] = clone(estimator).fit(X)
    np.testing.assert_allclose(fitted[True].loss_curve_, fitted[False].loss_curve_,
                               rtol=1e-4)
    a = fitted[False].network_.encoder.embed.weight.detach().numpy()
    b = fitted[True].network_.encoder.embed.weight.detach().numpy()
    np.testing.assert_allclose(b, a, rtol=0, atol=2e-3 * np.abs(a).max())
    assert (fitted[True].transform(X) != fitted[False].transform(X)).mean() < 0.02


@pytest.mark.parametrize("threads", [1, 2])
def test_the_lazy_average_agrees_with_the_mean_over_every_step(threads):
    # start_average: the mean of the weight over the later steps, the rows that sit a
    # step out summed in closed form when they catch up
    from skhash.nash._row_sparse_adamw import DENSE_STEPS

    n_steps, start = DENSE_STEPS + 700, DENSE_STEPS + 250
    means, optimizers = {}, {}
    for lazy in (False, True):
        weight = torch.randn(400, 24, generator=torch.Generator().manual_seed(0)) * 0.05
        capture = BagGradient()
        optimizer = RowSparseAdamW(weight, capture, lr=3e-3, weight_decay=0.01, lazy=lazy)
        total = np.zeros((400, 24))
        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            for step, (indices, rows, inputs, grad_out) in enumerate(_zipf_batches(n_steps)):
                if step == start:
                    optimizer.start_average()
                optimizer._catch_up_batch(indices)  # what the forward pass does
                capture.indices, capture.rows = indices, rows
                capture.inputs, capture.grad_out = inputs, grad_out
                optimizer.step()
                if step >= start and not lazy:
                    total += weight.numpy()  # the reference: every step's weights
        finally:
            torch.set_num_threads(previous)
        if lazy:
            assert optimizer.lazy and (optimizer._last < n_steps).sum() > 100
        else:
            means["reference"] = total / (n_steps - start)
        assert optimizer.n_summed == n_steps - start
        means[lazy], optimizers[lazy] = optimizer.average(), optimizer
    np.testing.assert_allclose(means[False], means["reference"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(means[True], means["reference"], rtol=0, atol=5e-6)
    moved = np.abs(means["reference"] - optimizers[False].weight.numpy()).max()
    assert moved > 1e-3  # the mean is not the last step's weight
    assert optimizers[True]._last.min() == n_steps  # average() brought every row up


def test_no_average_before_start_average_or_its_first_step():
    weight, optimizer = _train_first_layer(True, 10)
    assert optimizer.average() is None
    optimizer.start_average()
    assert optimizer.average() is None
