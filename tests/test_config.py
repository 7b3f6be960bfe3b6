"""skhash's process-wide settings, and the compiled reconstruction loss they switch on."""

import warnings

import numpy as np
import pytest
import torch

import skhash
from skhash import NASHHasher, _config
from skhash.nash import _network
from skhash.nash._network import CompiledOnCPU, MultinomialNLL, softmax_parts

from ._fast_estimators import FAST_NASH
from .test_nash_hasher import topic_counts


@pytest.fixture
def fresh_config(monkeypatch):
    """Settings as at the start of a process: read again from the environment."""
    monkeypatch.setattr(_config, "_settings", {})
    monkeypatch.delenv(_config.TORCH_COMPILE_ENV, raising=False)


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("0", False),
                                             ("", False), ("off", False)])
def test_torch_compile_starts_from_the_environment(fresh_config, monkeypatch, value,
                                                   expected):
    monkeypatch.setenv("SKHASH_TORCH_COMPILE", value)
    assert skhash.get_config() == {"torch_compile": expected}


def test_unset_environment_means_uncompiled(fresh_config):
    assert skhash.get_config() == {"torch_compile": False}


def test_a_bad_environment_value_is_named(fresh_config, monkeypatch):
    monkeypatch.setenv("SKHASH_TORCH_COMPILE", "maybe")
    with pytest.raises(ValueError, match="SKHASH_TORCH_COMPILE='maybe'"):
        skhash.get_config()


def test_set_config_changes_only_what_is_given(fresh_config):
    skhash.set_config(torch_compile=True)
    assert skhash.get_config()["torch_compile"] is True
    skhash.set_config()
    assert skhash.get_config()["torch_compile"] is True
    config = skhash.get_config()
    config["torch_compile"] = False  # a copy
    assert skhash.get_config()["torch_compile"] is True
    with pytest.raises(TypeError, match="torch_compile must be a bool"):
        skhash.set_config(torch_compile=1)


def test_config_context_restores_the_setting_even_after_an_error(fresh_config):
    with skhash.config_context(torch_compile=True):
        assert skhash.get_config()["torch_compile"] is True
    assert skhash.get_config()["torch_compile"] is False
    with pytest.raises(RuntimeError, match="inside"):
        with skhash.config_context(torch_compile=True):
            raise RuntimeError("inside")
    assert skhash.get_config()["torch_compile"] is False


def _loss_and_gradient(logits, rows, cols, weights, upstream, compiled):
    logits = logits.detach().requires_grad_()
    with skhash.config_context(torch_compile=compiled):
        loss = MultinomialNLL.apply(logits, rows, cols, weights)
        (grad,) = torch.autograd.grad((loss * upstream).sum(), logits)
    return loss, grad


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_compiled_loss_agrees_with_the_uncompiled_one(dtype):
    gen = torch.Generator().manual_seed(3)
    logits = (torch.randn((37, 1003), generator=gen) * 4).to(dtype)
    rows = torch.arange(37).repeat_interleave(5)
    cols = torch.stack([torch.randperm(1003, generator=gen)[:5] for _ in range(37)]).ravel()
    weights = torch.rand(185, generator=gen) * 3
    weights[rows == 4] = 0.0  # a row with nothing to reconstruct
    upstream = torch.rand(37, generator=gen) + 0.5
    eager = _loss_and_gradient(logits, rows, cols, weights, upstream, compiled=False)
    fused = _loss_and_gradient(logits, rows, cols, weights, upstream, compiled=True)
    assert _network._softmax_parts.proven and _network._scale_rows.proven
    assert fused[0].dtype == torch.float32 and fused[1].dtype == dtype
    torch.testing.assert_close(fused[0], eager[0], rtol=1e-5, atol=1e-4)
    # the gradient is rounded once to the logits' dtype on both paths
    tol = dict(rtol=1e-5, atol=1e-7) if dtype == torch.float32 else dict(rtol=1e-2, atol=1e-6)
    torch.testing.assert_close(fused[1].float(), eager[1].float(), **tol)
    assert fused[0][4].item() == 0.0


def test_a_failing_compiler_falls_back_to_the_eager_function(monkeypatch):
    def broken_compile(fn, **kwargs):
        def run(*args):
            raise RuntimeError("no C++ compiler")
        return run

    monkeypatch.setattr(torch, "compile", broken_compile)
    parts = CompiledOnCPU(softmax_parts)
    x = torch.randn(4, 9)
    with skhash.config_context(torch_compile=True):
        assert parts.active(x)
        with pytest.warns(RuntimeWarning, match="torch.compile failed for softmax_parts "
                                                "\\(RuntimeError: no C\\+\\+ compiler\\)"):
            got = parts(x)
        assert not parts.active(x)  # from then on the uncompiled loss is used
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # and a second call warns no more
            parts(x)
    for g, e in zip(got, softmax_parts(x)):
        torch.testing.assert_close(g, e)


def test_fits_with_the_compiled_loss_are_reproducible_and_track_the_uncompiled_ones():
    X, topics = topic_counts()
    params = {**FAST_NASH, "max_iter": 5, "random_state": 0}
    eager = NASHHasher(**params).fit(X)
    with skhash.config_context(torch_compile=True), warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no fallback: the compiler worked
        first = NASHHasher(**params).fit(X)
        second = NASHHasher(**params).fit(X)
    assert first.loss_curve_ == second.loss_curve_
    np.testing.assert_array_equal(first.transform(X), second.transform(X))
    np.testing.assert_allclose(first.loss_curve_, eager.loss_curve_, rtol=1e-3)
