"""The pure torch pieces of NASH."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from skhash.nash._batches import BatchPlan, document_weights
from skhash.nash._network import (
    AffineSoftmaxNLL,
    DecoderWorkspace,
    MultinomialNLL,
    NASHNetwork,
    bernoulli_kl,
    straight_through_bernoulli,
    target_row_sums,
)


def test_straight_through_passes_gradient_unchanged():
    probs = torch.tensor([[0.1, 0.5, 0.9]], requires_grad=True)
    z = straight_through_bernoulli(probs, torch.Generator().manual_seed(0))
    assert set(z.detach().unique().tolist()) <= {0.0, 1.0}
    (z * torch.tensor([[1.0, 2.0, 3.0]])).sum().backward()
    np.testing.assert_array_equal(probs.grad.numpy(), [[1.0, 2.0, 3.0]])


def test_straight_through_samples_with_the_given_probability():
    probs = torch.full((20000, 3), 0.0) + torch.tensor([0.1, 0.5, 0.8])
    z = straight_through_bernoulli(probs, torch.Generator().manual_seed(1))
    np.testing.assert_allclose(z.mean(0).numpy(), [0.1, 0.5, 0.8], atol=0.02)


def test_closed_form_kl_matches_monte_carlo():
    probs = torch.tensor([[0.05, 0.3, 0.5, 0.97]], dtype=torch.float64)
    exact = bernoulli_kl(probs).item()
    gen = torch.Generator().manual_seed(0)
    z = (torch.rand((200000, 4), generator=gen, dtype=torch.float64) < probs).double()
    log_q = (z * probs.log() + (1 - z) * (1 - probs).log()).sum(1)
    monte_carlo = (log_q - 4 * np.log(0.5)).mean().item()
    assert abs(exact - monte_carlo) < 0.01
    assert bernoulli_kl(torch.full((1, 7), 0.5)).item() == pytest.approx(0.0, abs=1e-6)


def _batch(X):
    return next(BatchPlan(sp.csr_matrix(X, dtype=np.float32)).batches(len(X)))


def test_reconstruction_matches_dense_log_softmax():
    torch.manual_seed(0)
    X = np.array([[0, 2, 0, 1, 0], [3, 0, 0, 0, 1], [0, 0, 0, 0, 0]], dtype=np.float32)
    net = NASHNetwork(5, 4, (6,), "none", 0.5)
    batch = _batch(X)
    z = torch.tensor([[1.0, 0, 1, 0], [0, 1, 1, 1], [1, 1, 0, 0]])
    got = net.decoder(z, batch).detach().numpy()
    _, targets = document_weights(sp.csr_matrix(X))
    T = sp.csr_matrix((targets, sp.csr_matrix(X).indices, sp.csr_matrix(X).indptr), shape=X.shape)
    dec = net.decoder
    log_p = torch.log_softmax(z @ dec.word_embedding + dec.word_bias, dim=1).detach().numpy()
    expected = -(T.toarray() * log_p).sum(1)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert got[2] == 0.0  # an empty document has nothing to reconstruct


def test_multinomial_nll_gradient_matches_autograd_reference():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn((4, 7), generator=gen, dtype=torch.float64, requires_grad=True)
    rows = torch.tensor([0, 0, 1, 3, 3, 3])
    cols = torch.tensor([1, 5, 0, 2, 3, 6])
    weights = torch.tensor([2.0, 0.5, 1.0, 1.5, 1.0, 3.0], dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda lg: MultinomialNLL.apply(lg, rows, cols, weights), (logits,)
    )
    dense = torch.zeros((4, 7), dtype=torch.float64)
    dense[rows, cols] = weights
    reference = -(dense * torch.log_softmax(logits, dim=1)).sum(1)
    got = MultinomialNLL.apply(logits, rows, cols, weights)
    torch.testing.assert_close(got, reference)
    assert got[2].item() == 0.0  # row 2 has no target: nothing to reconstruct
    upstream = torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64)
    (g_ref,) = torch.autograd.grad((reference * upstream).sum(), logits)
    (g_got,) = torch.autograd.grad((got * upstream).sum(), logits)
    torch.testing.assert_close(g_got, g_ref)


def test_dense_target_row_sums_equal_the_index_add_ones():
    # the CUDA path (dense=True) must compute what the CPU path computes
    gen = torch.Generator().manual_seed(2)
    logits = torch.randn((5, 30), generator=gen)
    rows = torch.tensor([0, 0, 0, 2, 2, 4])
    cols = torch.tensor([3, 7, 29, 0, 7, 15])
    flat = rows * 30 + cols
    weights = torch.tensor([1.0, 2.5, 0.5, 3.0, 1.0, 2.0])
    picked = logits.reshape(-1)[flat]
    sparse = target_row_sums(logits, rows, flat, weights, picked, dense=False)
    dense = target_row_sums(logits, rows, flat, weights, picked, dense=True)
    torch.testing.assert_close(dense, sparse)
    torch.testing.assert_close(sparse[0], torch.tensor([4.0, 0.0, 4.0, 0.0, 2.0]))
    expected = torch.zeros(5)
    expected[0] = logits[0, 3] + 2.5 * logits[0, 7] + 0.5 * logits[0, 29]
    expected[2] = 3.0 * logits[2, 0] + logits[2, 7]
    expected[4] = 2.0 * logits[4, 15]
    torch.testing.assert_close(sparse[1], expected)


def test_batch_plan_stores_each_target_once():
    X = sp.csr_matrix(np.array([[1.0, 0, 2], [0, 3, 0]], dtype=np.float32))
    # row 0 stores term 2 twice (0.5 + 1.5), a valid but non-canonical CSR
    targets = sp.csr_matrix(
        (np.array([1.0, 0.5, 1.5, 4.0], dtype=np.float32), np.array([0, 2, 2, 1]),
         np.array([0, 3, 4])), shape=(2, 3),
    )
    batch = next(BatchPlan(X, targets).batches(2))
    assert batch.target_rows.tolist() == [0, 0, 1]
    assert batch.target_indices.tolist() == [0, 2, 1]
    assert batch.targets.tolist() == [1.0, 2.0, 4.0]
    assert targets.nnz == 4  # the caller's matrix is left as it was


@pytest.mark.parametrize("scale, shift", [(1.0, 0.0), (40.0, 0.0), (5.0, 200.0), (5.0, -200.0)])
def test_multinomial_nll_log_sum_exp_is_accurate_for_wide_and_shifted_logits(scale, shift):
    # The forward pass reads the log-sum-exp off the softmax's largest entry; in float32 it
    # must stay as accurate as torch.logsumexp, also where one word dominates (wide logits)
    # and where all logits sit far from zero.
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn((6, 500), generator=gen) * scale + shift
    rows = torch.arange(6).repeat_interleave(4)
    cols = torch.randint(0, 500, (24,), generator=gen)
    weights = torch.rand(24, generator=gen) + 0.5
    got = MultinomialNLL.apply(logits, rows, cols, weights).double()
    lg = logits.double()
    expected = torch.zeros(6, dtype=torch.float64).index_add_(
        0, rows, weights.double() * (torch.logsumexp(lg, dim=1)[rows] - lg[rows, cols])
    )
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-3)


def _decoder_reference(z, weight, bias, rows, cols, weights):
    logits = (z.double() @ weight.double() + bias.double())
    dense = torch.zeros(logits.shape, dtype=torch.float64)
    dense[rows, cols] = weights.double()
    return -(dense * torch.log_softmax(logits, dim=1)).sum(1)


def test_affine_softmax_nll_gradients_match_autograd_reference():
    gen = torch.Generator().manual_seed(4)
    z = torch.rand((4, 3), generator=gen, dtype=torch.float64, requires_grad=True)
    weight = torch.randn((3, 7), generator=gen, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(7, generator=gen, dtype=torch.float64, requires_grad=True)
    rows = torch.tensor([0, 0, 1, 3, 3, 3])
    cols = torch.tensor([1, 5, 0, 2, 3, 6])
    weights = torch.tensor([2.0, 0.5, 1.0, 1.5, 1.0, 3.0], dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda a, e, b: AffineSoftmaxNLL.apply(a, e, b, rows, cols, weights),
        (z, weight, bias))
    got = AffineSoftmaxNLL.apply(z, weight, bias, rows, cols, weights)
    reference = _decoder_reference(z, weight, bias, rows, cols, weights)
    torch.testing.assert_close(got, reference)
    assert got[2].item() == 0.0  # row 2 has no target: nothing to reconstruct
    upstream = torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64)
    expected = torch.autograd.grad((reference * upstream).sum(), (z, weight, bias))
    grads = torch.autograd.grad((got * upstream).sum(), (z, weight, bias))
    for g, e in zip(grads, expected):
        torch.testing.assert_close(g, e)


@pytest.mark.parametrize("scale, shift", [(1.0, 0.0), (40.0, 0.0), (5.0, 200.0), (5.0, -200.0)])
def test_affine_softmax_nll_is_accurate_for_wide_and_shifted_logits(scale, shift):
    # float32, with a workspace as in training: the log-sum-exp read at the word of
    # largest bias must be as accurate as torch.logsumexp, also where that word is
    # improbable (wide logits) and where all logits sit far from zero
    gen = torch.Generator().manual_seed(1)
    z = (torch.rand((6, 8), generator=gen) < 0.5).float()
    weight = torch.randn((8, 500), generator=gen) * scale
    bias = torch.randn(500, generator=gen) + shift
    rows = torch.arange(6).repeat_interleave(4)
    cols = torch.stack([torch.randperm(500, generator=gen)[:4] for _ in range(6)]).ravel()
    weights = torch.rand(24, generator=gen) + 0.5
    got = AffineSoftmaxNLL.apply(z, weight, bias, rows, cols, weights, DecoderWorkspace())
    expected = _decoder_reference(z, weight, bias, rows, cols, weights)
    torch.testing.assert_close(got.double(), expected, rtol=1e-5, atol=1e-3)


def test_affine_softmax_nll_falls_back_where_the_anchor_word_underflows():
    # row 0 puts the word of largest bias (column 0) 120 nats below another word: its
    # probability (about 1e-52) has no usable logarithm in float32, and the row takes an
    # exact log-sum-exp; row 1 reads it at column 0
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    weight = torch.zeros((2, 5))
    weight[0, 0], weight[0, 3] = -60.0, 60.0
    bias = torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0])
    rows, cols = torch.tensor([0, 0, 1]), torch.tensor([1, 3, 2])
    weights = torch.tensor([1.0, 2.0, 1.0])
    got = AffineSoftmaxNLL.apply(z, weight, bias, rows, cols, weights)
    assert torch.isfinite(got).all()
    expected = _decoder_reference(z, weight, bias, rows, cols, weights)
    torch.testing.assert_close(got.double(), expected, rtol=1e-6, atol=1e-4)
    assert torch.softmax(z @ weight + bias, dim=1)[0, 0] < 1e-30  # the fallback's case
    assert abs(got[0].item() - 60.0) < 1e-3  # word 1 sits 60 nats below word 3


def test_affine_softmax_nll_agrees_with_the_product_and_multinomial_nll():
    # the one-node decoder against the two nodes it replaces (still used under autocast)
    gen = torch.Generator().manual_seed(5)
    z = (torch.rand((30, 16), generator=gen) < 0.5).float().requires_grad_()
    weight = (torch.randn((16, 400), generator=gen) * 0.5).requires_grad_()
    bias = (torch.randn(400, generator=gen) - 6.0).requires_grad_()
    rows = torch.arange(30).repeat_interleave(12)
    cols = torch.stack([torch.randperm(400, generator=gen)[:12] for _ in range(30)]).ravel()
    weights = torch.rand(360, generator=gen) * 2
    upstream = torch.rand(30, generator=gen) + 0.5
    one = AffineSoftmaxNLL.apply(z, weight, bias, rows, cols, weights, DecoderWorkspace())
    grads_one = torch.autograd.grad((one * upstream).sum(), (z, weight, bias))
    two = MultinomialNLL.apply(torch.addmm(bias, z, weight), rows, cols, weights)
    grads_two = torch.autograd.grad((two * upstream).sum(), (z, weight, bias))
    torch.testing.assert_close(one, two, rtol=1e-6, atol=1e-4)
    for a, b in zip(grads_one, grads_two):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_encoder_dropout_zeroes_and_rescales_units_in_training_only():
    torch.manual_seed(0)
    X = np.array([[0, 2, 0, 1, 0], [3, 0, 0, 0, 1], [1, 1, 1, 0, 0]], dtype=np.float32)
    net = NASHNetwork(5, 4, (400,), "none", 0.5).eval()
    batch = _batch(X)
    plain = net.encoder(batch).detach()
    net.encoder.dropout = 0.5
    np.testing.assert_array_equal(net.encoder(batch).detach(), plain)  # eval: no dropout
    dropped = net.train().encoder(batch).detach()
    kept = dropped != 0
    # each unit is either zeroed or scaled by 1 / (1 - p)
    np.testing.assert_allclose(dropped[kept], 2 * plain[kept], rtol=1e-6)
    positive = plain > 0
    assert 0.35 < (~kept[positive]).float().mean().item() < 0.65


def test_targets_sum_to_number_of_terms_and_inputs_have_unit_norm():
    X = sp.csr_matrix(np.array([[0.2, 0.0, 0.4, 0.4], [5.0, 1.0, 0.0, 0.0]], dtype=np.float32))
    inputs, targets = document_weights(X)
    rows = np.repeat([0, 1], np.diff(X.indptr))
    np.testing.assert_allclose(np.bincount(rows, targets), [3.0, 2.0], rtol=1e-6)
    np.testing.assert_allclose(np.bincount(rows, inputs**2), [1.0, 1.0], rtol=1e-6)


@pytest.mark.parametrize("shuffle", [True, False])
def test_batches_follow_the_given_order(shuffle):
    X = sp.random(23, 9, density=0.4, random_state=0, format="lil", dtype=np.float32)
    X[[4, 5, 22]] = 0  # empty rows, two together and the last
    X = X.tocsr()
    X.eliminate_zeros()
    plan = BatchPlan(X)
    order = np.random.default_rng(0).permutation(23) if shuffle else None
    rows, bags = [], []
    for batch in plan.batches(5, order):
        assert batch.indices.dtype == batch.offsets.dtype == batch.rows.dtype == torch.int64
        dense = torch.zeros(batch.n_rows, 9).index_put_(
            (batch.rows, batch.indices), batch.inputs, accumulate=True
        )
        rows.append(dense.numpy())
        # the EmbeddingBag offsets delimit the same rows
        ends = [*batch.offsets.tolist()[1:], len(batch.indices)]
        bags += [sorted(batch.indices[a:b].tolist()) for a, b in zip(batch.offsets, ends)]
    inputs, _ = document_weights(X)
    expected = sp.csr_matrix((inputs, X.indices, X.indptr), shape=X.shape)
    expected = expected.toarray() if order is None else expected.toarray()[order]
    np.testing.assert_allclose(np.vstack(rows), expected, rtol=1e-6)
    assert bags == [sorted(np.flatnonzero(row).tolist()) for row in expected]
    assert bags.count([]) == int((np.diff(X.indptr) == 0).sum()) >= 3


@pytest.mark.parametrize("noise", ["none", "fixed", "data"])
def test_noise_variants_behave_as_named(noise):
    torch.manual_seed(0)
    net = NASHNetwork(10, 16, (8,), noise, 0.5)
    h = torch.randn(4000, 8)
    z = (torch.rand(4000, 16) < 0.5).float()
    out, rate = net.decoder_input(h, z, torch.Generator().manual_seed(0))
    if noise == "none":
        assert torch.equal(out, z)
    else:
        # fixed: noise_std throughout; data: learned, and started at noise_std
        assert (out - z).std().item() == pytest.approx(0.5, rel=0.02)
    if noise == "data":
        # the learned noise is charged the Gaussian channel's capacity, per bit
        # 0.5 * log(1 + 0.25 / 0.5**2) = 0.5 * log(2)
        np.testing.assert_allclose(rate.detach().numpy(), 16 * 0.5 * np.log(2), rtol=1e-3)
        with torch.no_grad():
            net.noise_head.bias.fill_(-10.0)
        quiet, quiet_rate = net.decoder_input(h, z, torch.Generator().manual_seed(0))
        assert (quiet - z).abs().max().item() < 1e-3
        assert (quiet_rate > rate).all()  # less noise carries more, and costs more
    else:
        assert torch.equal(rate, torch.zeros(4000))


def test_deterministic_forward_uses_thresholded_codes():
    torch.manual_seed(0)
    net = NASHNetwork(6, 5, (7,), "data", 0.5, n_outputs=3)
    batch = _batch(np.eye(6, dtype=np.float32))
    nll1, kl1, probs, logits = net(batch, sample=False)
    nll2, kl2, _, _ = net(batch, sample=False)
    assert torch.equal(nll1, nll2) and torch.equal(kl1, kl2)
    assert logits.shape == (6, 3)
    expected = net.decoder((probs > 0.5).float(), batch)
    torch.testing.assert_close(nll1, expected)
