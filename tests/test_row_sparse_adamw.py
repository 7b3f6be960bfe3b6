"""The first layer's AdamW without a dense gradient agrees with autograd + torch's AdamW."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from torch.nn import functional as F

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
