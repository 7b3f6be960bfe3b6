"""Baselines: LSH, spectral hashing, ITQ and VDSH codes, reproducibility, errors."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from skhash.baselines import ITQHasher, LSHHasher, SpectralHasher, VDSHHasher
from skhash.metrics import precision_at_k
from skhash.nash._batches import BatchPlan
from skhash.nash._gaussian import GaussianVAENetwork

from ._fast_estimators import FAST_NASH
from .test_nash_hasher import topic_counts

FAST_VDSH = {**FAST_NASH, "max_iter": 30}


@pytest.mark.parametrize("hasher", [LSHHasher(n_bits=16, random_state=0),
                                    ITQHasher(n_bits=8, random_state=0),
                                    SpectralHasher(n_bits=8, random_state=0),
                                    VDSHHasher(**FAST_VDSH, random_state=0)])
def test_codes_dense_and_sparse_agree_and_reproduce(hasher):
    X, topics = topic_counts(n_docs=90, n_words=30, seed=3)
    codes = hasher.fit(X).transform(X)
    assert codes.shape == (90, hasher.n_bits) and codes.dtype == np.uint8
    np.testing.assert_array_equal(hasher.transform(X.toarray()), codes)
    np.testing.assert_array_equal(type(hasher)(**hasher.get_params()).fit(X).transform(X), codes)
    # disjoint topic vocabularies: codes retrieve the topic far above chance (1/3)
    assert precision_at_k(codes, topics, k=10) > 0.6


def test_itq_codes_are_balanced_and_rotation_orthogonal():
    X = sp.random(300, 50, density=0.2, random_state=0, format="csr")
    itq = ITQHasher(n_bits=6, random_state=0).fit(X)
    codes = itq.transform(X)
    # centred projections: every bit splits the training set, none is constant
    assert ((codes.mean(axis=0) > 0.2) & (codes.mean(axis=0) < 0.8)).all()
    gram = itq.projection_.T @ itq.projection_
    np.testing.assert_allclose(gram, np.eye(6), atol=1e-8)  # orthonormal SVD directions, rotated


@pytest.mark.parametrize("cls", [ITQHasher, SpectralHasher])
def test_fit_computes_in_float64_whatever_the_input_dtype(cls):
    # float32 and float64 copies of the same values give the same model: the SVD runs in
    # float64, where the rounding of BLAS (which varies with its thread count) stays far
    # below anything that moves a sign; in float32 it changed up to 4% of ITQ's bits
    X32 = sp.random(400, 120, density=0.1, random_state=0, format="csr", dtype=np.float32)
    X64 = X32.astype(np.float64)
    a = cls(n_bits=16, random_state=0).fit(X64)
    b = cls(n_bits=16, random_state=0).fit(X32)
    assert a.projection_.dtype == b.projection_.dtype == np.float64
    np.testing.assert_array_equal(b.projection_, a.projection_)
    np.testing.assert_array_equal(b.transform(X32), a.transform(X64))


def test_itq_refuses_more_bits_than_dimensions():
    with pytest.raises(ValueError, match="n_bits=8 with n_samples=10, n_features=5"):
        ITQHasher(n_bits=8).fit(np.random.default_rng(0).random((10, 5)))


def test_spectral_bits_are_cosines_of_centred_principal_projections():
    X = sp.random(200, 30, density=0.3, random_state=1, format="csr")
    sh = SpectralHasher(n_bits=12, random_state=0).fit(X)
    dense = X.toarray()
    centred = dense - dense.mean(axis=0)
    # the directions are the covariance's top eigenvectors (up to sign), orthonormal
    eigvals, eigvecs = np.linalg.eigh(centred.T @ centred)
    top = eigvecs[:, ::-1][:, :12]
    np.testing.assert_allclose(np.abs(top.T @ sh.projection_), np.eye(12), atol=1e-6)
    V = centred @ sh.projection_
    lo, hi = V.min(axis=0), V.max(axis=0)
    # the chosen eigenfunctions are the lowest frequencies k*pi/(hi - lo) over all pairs
    all_freqs = np.sort((np.arange(1, 13)[None, :] * np.pi / (hi - lo)[:, None]).ravel())
    np.testing.assert_allclose(sh.frequencies_, all_freqs[:12], rtol=1e-9)
    d = sh.bit_components_
    expected = np.cos(sh.frequencies_ * (V[:, d] - lo[d])) > 0
    np.testing.assert_array_equal(sh.transform(X), expected.astype(np.uint8))
    # a direction's first (k = 1) bit splits its range at the midpoint
    first = np.flatnonzero(d == 0)[0]
    np.testing.assert_array_equal(sh.transform(X)[:, first], V[:, 0] < (lo[0] + hi[0]) / 2)


def test_spectral_refuses_bad_n_components():
    X = np.random.default_rng(0).random((10, 5))
    with pytest.raises(ValueError, match="n_components must be between 1 and .* = 5, got 7"):
        SpectralHasher(n_bits=4, n_components=7).fit(X)
    sh = SpectralHasher(n_bits=6, n_components=2).fit(X)  # more bits than directions
    assert set(sh.bit_components_) == {0, 1} and sh.transform(X).shape == (10, 6)


def test_vdsh_thresholds_are_training_medians_and_bits_balanced():
    X, _ = topic_counts(n_docs=101, n_words=30, seed=5)
    vdsh = VDSHHasher(**FAST_VDSH, random_state=0).fit(X)
    codes = vdsh.transform(X)
    # 101 training documents: each median is one of them, so exactly 50 lie above it
    np.testing.assert_array_equal(codes.sum(axis=0), np.full(vdsh.n_bits, 50))
    assert vdsh.thresholds_.shape == (vdsh.n_bits,)
    assert vdsh.n_iter_ == 30 and np.isfinite(vdsh.score(X))
    assert vdsh.score(X) > VDSHHasher(**{**FAST_VDSH, "max_iter": 1}, random_state=0).fit(X).score(X)


def test_vdsh_network_kl_and_deterministic_forward():
    torch.manual_seed(0)
    net = GaussianVAENetwork(6, 3, (5,))
    batch = next(BatchPlan(sp.csr_matrix(np.eye(6, dtype=np.float32))).batches(6))
    nll, kl, mean, logits = net(batch, sample=False)
    assert logits is None and mean.shape == (6, 3)
    h = net.encoder(batch)
    std = torch.exp(0.5 * net.log_var(h))
    expected = torch.distributions.kl_divergence(
        torch.distributions.Normal(net.mean(h), std), torch.distributions.Normal(0.0, 1.0)
    ).sum(dim=1)
    torch.testing.assert_close(kl, expected)
    torch.testing.assert_close(nll, net.decoder(mean, batch))
    torch.testing.assert_close(net.codes(batch), mean)
