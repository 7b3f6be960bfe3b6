"""The decoder's workspace: the training step's mini-batch x vocabulary matrices written
into buffers kept from step to step give the same loss, gradients and fits as fresh
ones."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from skhash import NASHHasher, SupervisedNASHHasher
from skhash.nash import _base
from skhash.nash._network import DecoderWorkspace, MultinomialNLL, SoftmaxDecoder

from ._fast_estimators import FAST_NASH


def _problem(seed=0, n_rows=6, n_words=40):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn((n_rows, 5), generator=gen)
    rows = torch.arange(n_rows).repeat_interleave(3)
    cols = torch.randint(0, n_words, (3 * n_rows,), generator=gen)
    # one target per (row, column), as BatchPlan guarantees
    pairs = sorted(set(zip(rows.tolist(), cols.tolist())))
    rows = torch.tensor([r for r, _ in pairs])
    cols = torch.tensor([c for _, c in pairs])
    weights = torch.rand(len(pairs), generator=gen) + 0.5

    class Batch:
        target_rows, target_indices, targets = rows, cols, weights

    return z, Batch


def _loss_and_grads(decoder, z, batch, upstream, dtype=None):
    decoder.zero_grad(set_to_none=True)
    z = z.clone().requires_grad_(True)
    with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
        loss = decoder(z, batch)
    (loss * upstream).sum().backward()
    return (loss.detach().clone(), z.grad.clone(), decoder.word_embedding.grad.clone(),
            decoder.word_bias.grad.clone())


@pytest.mark.parametrize("dtype", [None, torch.bfloat16])
def test_the_workspace_gives_the_same_loss_and_gradients(dtype):
    torch.manual_seed(0)
    decoder = SoftmaxDecoder(5, 40)
    z, batch = _problem()
    upstream = torch.linspace(0.5, 2.0, z.shape[0])
    fresh = _loss_and_grads(decoder, z, batch, upstream, dtype)
    decoder.workspace = DecoderWorkspace()
    for _ in range(2):  # the second step reuses the first one's buffers
        reused = _loss_and_grads(decoder, z, batch, upstream, dtype)
        for got, expected in zip(reused, fresh):
            torch.testing.assert_close(got, expected, rtol=0, atol=0)
    assert set(decoder.workspace._buffers) == (
        {"weight_and_bias", "code_and_one", "logits", "probs"} if dtype is None
        else {"logits", "logits_wide", "probs", "grad"})
    assert decoder.workspace._buffers["logits"].dtype == (dtype or torch.float32)


def test_a_smaller_batch_takes_a_prefix_of_the_buffers():
    torch.manual_seed(0)
    decoder = SoftmaxDecoder(5, 40)
    decoder.workspace = DecoderWorkspace()
    z, batch = _problem(n_rows=6)
    _loss_and_grads(decoder, z, batch, torch.ones(6))
    pointer = decoder.workspace._buffers["probs"].data_ptr()
    small_z, small_batch = _problem(seed=1, n_rows=2)
    got = _loss_and_grads(decoder, small_z, small_batch, torch.ones(2))
    assert decoder.workspace._buffers["probs"].data_ptr() == pointer
    decoder.workspace = None
    expected = _loss_and_grads(decoder, small_z, small_batch, torch.ones(2))
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_without_a_workspace_the_loss_supports_repeated_backward_passes():
    # outside training (scoring, gradient checks) nothing is overwritten: gradcheck runs
    # several backward passes over one forward pass
    logits = torch.randn(3, 8, dtype=torch.float64, requires_grad=True)
    before = logits.detach().clone()
    rows, cols = torch.tensor([0, 1, 2]), torch.tensor([1, 4, 7])
    weights = torch.ones(3, dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda lg: MultinomialNLL.apply(lg, rows, cols, weights, None), (logits,))
    torch.testing.assert_close(logits.detach(), before, rtol=0, atol=0)


def _corpus():
    rng = np.random.default_rng(0)
    X = sp.random(120, 300, density=0.05, format="csr", random_state=rng, dtype=np.float32)
    X.data[:] = rng.integers(1, 4, X.nnz)
    return X, rng.integers(0, 3, 120)


@pytest.mark.parametrize("Estimator", [NASHHasher, SupervisedNASHHasher])
def test_fits_with_and_without_the_workspace_agree_exactly(Estimator, monkeypatch):
    X, y = _corpus()
    params = dict(FAST_NASH, random_state=0)
    with_workspace = Estimator(**params).fit(X, y)
    assert with_workspace.network_.decoder.workspace is None  # not kept after fit
    monkeypatch.setattr(_base, "DecoderWorkspace", lambda: None)
    without = Estimator(**params).fit(X, y)
    assert with_workspace.loss_curve_ == without.loss_curve_
    np.testing.assert_array_equal(with_workspace.transform(X), without.transform(X))
