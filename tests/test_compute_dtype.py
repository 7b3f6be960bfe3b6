"""compute_dtype: training's matrix products in bfloat16, everything else as in float32."""

import warnings

import numpy as np
import pytest
import torch

from skhash import NASHHasher, SupervisedNASHHasher
from skhash.baselines import VDSHHasher
from skhash.nash import _network
from skhash.nash import _base
from skhash.nash._base import resolve_compute_dtype
from skhash.utils import _hardware

from ._fast_estimators import FAST_NASH
from .test_nash_hasher import topic_counts

#: These tests train in bfloat16 on whatever CPU runs them; where it is emulated the
#: estimators warn (tested below, where the warning is the point).
pytestmark = pytest.mark.filterwarnings(f"ignore:{_base.EMULATED_BFLOAT16_WARNING}:UserWarning")


def test_bfloat16_training_tracks_float32():
    X, topics = topic_counts()
    params = {**FAST_NASH, "max_iter": 30, "random_state": 0}
    full = NASHHasher(**params).fit(X)
    half = NASHHasher(**params, compute_dtype="bfloat16").fit(X)
    # the products are rounded, so the runs differ, but only by bfloat16's precision
    assert full.loss_curve_ != half.loss_curve_
    np.testing.assert_allclose(half.loss_curve_[:3], full.loss_curve_[:3], rtol=1e-2)
    # the weights stay float32 and the codes still separate the topics
    assert {p.dtype for p in half.network_.parameters()} == {torch.float32}
    codes = half.transform(X).astype(int)
    dist = (codes[:, None, :] != codes[None, :, :]).sum(-1)
    same = topics[:, None] == topics[None, :]
    assert dist[same].mean() + 2 < dist[~same].mean()


def test_bfloat16_is_used_in_training_and_the_loss_is_float32(monkeypatch):
    seen = []
    original = _network.MultinomialNLL.apply

    def spy(logits, *rest):
        loss = original(logits, *rest)
        seen.append((torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu"),
                     logits.dtype, loss.dtype))
        return loss

    monkeypatch.setattr(_network.MultinomialNLL, "apply", spy)
    X, _ = topic_counts(n_docs=40)
    hasher = NASHHasher(**FAST_NASH, compute_dtype="bfloat16", random_state=0).fit(X)
    # the decoder's product runs in bfloat16; the loss reads it in float32
    assert seen and all(s == (True, torch.bfloat16, torch.bfloat16, torch.float32)
                        for s in seen)
    seen.clear()
    # without autocast (inference, float32 training) the decoder is one node instead
    float32 = []
    original_float32 = _network.AffineSoftmaxNLL.apply

    def spy_float32(z, *rest):
        loss = original_float32(z, *rest)
        float32.append((torch.is_autocast_enabled("cpu"), z.dtype, loss.dtype))
        return loss

    monkeypatch.setattr(_network.AffineSoftmaxNLL, "apply", spy_float32)
    hasher.score(X)
    assert not seen and float32 and all(s == (False, torch.float32, torch.float32)
                                        for s in float32)
    float32.clear()
    NASHHasher(**FAST_NASH, random_state=0).fit(X)
    assert not seen and float32 and all(s == (False, torch.float32, torch.float32)
                                        for s in float32)


def test_codes_of_a_bfloat16_model_do_not_depend_on_the_batch():
    X, _ = topic_counts()
    hasher = NASHHasher(**FAST_NASH, compute_dtype="bfloat16", random_state=0).fit(X)
    order = np.random.default_rng(0).permutation(X.shape[0])
    np.testing.assert_array_equal(hasher.transform(X)[order], hasher.transform(X[order]))
    np.testing.assert_array_equal(hasher.transform(X[:7]), hasher.transform(X)[:7])


@pytest.mark.parametrize("estimator", [
    SupervisedNASHHasher(**{**FAST_NASH, "max_iter": 30}, compute_dtype="bfloat16",
                         random_state=0),
    VDSHHasher(n_bits=8, hidden_layer_sizes=(16,), max_iter=30, batch_size=32,
               compute_dtype="bfloat16", random_state=0),
])
def test_other_neural_hashers_train_in_bfloat16(estimator):
    X, topics = topic_counts()
    codes = estimator.fit(X, topics).transform(X)
    assert codes.shape == (X.shape[0], 8) and codes.dtype == np.uint8
    assert np.isfinite(estimator.loss_curve_).all()
    if isinstance(estimator, SupervisedNASHHasher):
        assert (estimator.predict(X) == topics).mean() > 0.9
    else:  # median cuts: balanced bits
        np.testing.assert_allclose(codes.mean(axis=0), 0.5, atol=0.01)


def test_bfloat16_on_a_gpu_without_it_is_named(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    with pytest.raises(ValueError, match="compute_dtype='bfloat16'.*does not support"):
        resolve_compute_dtype("bfloat16", torch.device("cuda"))
    assert resolve_compute_dtype("bfloat16", torch.device("cpu")) is torch.bfloat16
    assert resolve_compute_dtype("float32", torch.device("cuda")) is torch.float32


@pytest.mark.parametrize("estimator", [
    NASHHasher(**FAST_NASH, random_state=0),
    SupervisedNASHHasher(**FAST_NASH, random_state=0),
    VDSHHasher(n_bits=8, hidden_layer_sizes=(16,), max_iter=2, batch_size=32, random_state=0),
])
@pytest.mark.parametrize("native", [True, False, None])
def test_bfloat16_on_a_cpu_without_it_warns_and_still_trains(monkeypatch, estimator, native):
    monkeypatch.setattr(_base, "native_bfloat16", lambda device: native)
    X, topics = topic_counts(n_docs=40)
    estimator.set_params(compute_dtype="bfloat16")
    if native is False:
        with pytest.warns(UserWarning, match="no native bfloat16.*compute_dtype='float32'"):
            estimator.fit(X, topics)
    else:  # native, or not known to torch (an ARM CPU, say): nothing to say
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            estimator.fit(X, topics)
    assert estimator.transform(X).shape == (40, 8)
    # float32 never warns, whatever the CPU
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        estimator.set_params(compute_dtype="float32").fit(X, topics)


@pytest.mark.parametrize(("features", "expected"), [
    ({"architecture": "x86_64", "avx2": True, "avx512_bf16": False, "amx_bf16": False},
     False),
    ({"architecture": "x86_64", "avx2": True, "avx512_bf16": True, "amx_bf16": False}, True),
    ({"architecture": "x86_64", "avx512_bf16": False, "amx_bf16": True}, True),
    ({"architecture": "aarch64"}, None),
    ({}, None),
])
def test_native_bfloat16_reads_the_cpu_features(monkeypatch, features, expected):
    monkeypatch.setattr(_hardware, "cpu_features", lambda: features)
    assert _hardware.native_bfloat16(torch.device("cpu")) is expected
    assert _hardware.native_bfloat16("cpu") is expected


def test_native_bfloat16_on_cuda_asks_torch(monkeypatch):
    for supported in (True, False):
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, s=supported, **k: s)
        assert _hardware.native_bfloat16(torch.device("cuda")) is supported


def test_cpu_features_are_torch_s_detection():
    features = _hardware.cpu_features()
    assert isinstance(features, dict)
    if features:  # torch's cpuinfo: the architecture's name and boolean feature flags
        assert isinstance(features["architecture"], str)
        assert all(isinstance(features.get(k, False), bool)
                   for k in _hardware._CPU_BFLOAT16_FEATURES)
        assert _hardware.native_bfloat16("cpu") in (True, False, None)


def test_unknown_compute_dtype_is_rejected():
    X, _ = topic_counts(n_docs=10)
    with pytest.raises(ValueError, match="compute_dtype"):
        NASHHasher(**FAST_NASH, compute_dtype="float16").fit(X)
