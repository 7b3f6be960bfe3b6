"""Optimizer moments that would be subnormal are flushed to zero in CPU training."""

import numpy as np
import pytest
import torch

from skhash.nash._base import _TrainingOptimizer
from skhash.nash._row_sparse_adamw import (
    BagGradient,
    RowSparseAdamW,
    adamw_bag_update_parallel,
    adamw_bag_update_serial,
    term_major,
)
from skhash.nash._subnormals import TINY, flush_subnormal_moments

SUBNORMAL = 1e-40  # below float32's smallest normal, 1.1754944e-38


def _is_subnormal(a):
    a = np.abs(np.asarray(a, dtype=np.float32))
    return (a > 0) & (a < TINY)


def test_tiny_is_the_smallest_normal_float32():
    assert TINY == np.finfo(np.float32).tiny and TINY.dtype == np.float32
    assert _is_subnormal(TINY / 2) and not _is_subnormal(TINY)


@pytest.mark.parametrize("layout", ["contiguous", "strided", "float64"])
def test_flush_zeroes_subnormal_moments_only(layout):
    w = torch.nn.Parameter(torch.zeros(4))
    opt = torch.optim.Adam([w])
    if layout == "float64":
        # float64's own smallest normal is 2.2e-308: float32's subnormals are normal there
        m = torch.tensor([1e-3, 1e-39, 1e-310, -1e-320], dtype=torch.float64)
        expected = [1e-3, 1e-39, 0.0, 0.0]
    else:
        m = torch.tensor([1e-3, SUBNORMAL, -SUBNORMAL, -2e-38], dtype=torch.float32)
        if layout == "strided":
            m = torch.stack([m, torch.full((4,), 7.0)], dim=1)[:, 0]
            assert not m.is_contiguous()
        expected = np.array([1e-3, 0.0, 0.0, -2e-38], dtype=np.float32).tolist()
    v = m.abs()  # the second moment likewise
    step = torch.tensor(1e-40)  # not a moment: left alone
    opt.state[w] = {"exp_avg": m, "exp_avg_sq": v, "step": step}
    flush_subnormal_moments(opt)
    assert opt.state[w]["exp_avg"] is m and opt.state[w]["exp_avg_sq"] is v  # in place
    assert m.tolist() == expected
    assert v.tolist() == [abs(x) for x in expected]
    assert step.item() > 0


@pytest.mark.parametrize("kernel", [adamw_bag_update_serial, adamw_bag_update_parallel])
def test_row_sparse_kernel_stores_a_decayed_first_moment_as_zero(kernel):
    # rows 0-2 untouched (zero gradient): momentum decays by beta1 = 0.5 a step
    w = np.ones((3, 4), dtype=np.float32)
    m = np.array([[1e-3] * 4, [2.5e-38] * 4, [-2.5e-38] * 4], dtype=np.float32)
    v = np.full_like(w, 1e-4)
    empty = np.zeros(0, dtype=np.int64)
    ptr, order = term_major(empty, 3)
    f = np.float32
    kernel(w, m, v, ptr, order, empty, np.zeros(0, np.float32), np.zeros((1, 4), np.float32),
           f(0.01), f(0.5), f(0.999), f(1e-8), f(0.0), f(0.5), f(0.5))
    np.testing.assert_array_equal(m[0], np.float32(1e-3) * np.float32(0.5))
    # 2.5e-38 * 0.5 = 1.25e-38 is still normal; one more step makes it subnormal
    np.testing.assert_array_equal(np.abs(m[1:]), np.float32(1.25e-38))
    kernel(w, m, v, ptr, order, empty, np.zeros(0, np.float32), np.zeros((1, 4), np.float32),
           f(0.01), f(0.5), f(0.999), f(1e-8), f(0.0), f(0.5), f(0.5))
    assert not _is_subnormal(m).any()
    np.testing.assert_array_equal(m[1:], 0.0)
    assert (m[0] > 0).all()


def test_row_sparse_kernel_stores_a_decayed_second_moment_as_zero():
    w = np.ones((2, 3), dtype=np.float32)
    m = np.zeros_like(w)
    v = np.array([[1e-4] * 3, [1.5e-38] * 3], dtype=np.float32)  # * 0.5: subnormal
    empty = np.zeros(0, dtype=np.int64)
    ptr, order = term_major(empty, 2)
    f = np.float32
    adamw_bag_update_serial(w, m, v, ptr, order, empty, np.zeros(0, np.float32),
                            np.zeros((1, 3), np.float32), f(0.01), f(0.9), f(0.5), f(1e-8),
                            f(0.0), f(0.5), f(0.5))
    np.testing.assert_array_equal(v[0], np.float32(1e-4) * np.float32(0.5))
    np.testing.assert_array_equal(v[1], 0.0)
    np.testing.assert_array_equal(w, 1.0)  # zero moments: the weights stay


def test_row_sparse_adamw_keeps_no_subnormal_moment_over_a_long_idle_stretch():
    weight = torch.ones(2, 3)
    capture = BagGradient()
    optimizer = RowSparseAdamW(weight, capture, lr=0.01, weight_decay=0.0)
    reference = torch.ones(2, 3, requires_grad=True)
    adam = torch.optim.AdamW([reference], lr=0.01, weight_decay=0.0)
    seen_subnormal = False
    for step in range(1000):  # row 0 touched once, then idle: 0.9**999 * 0.1 underflows
        touched = step == 0
        capture.indices = torch.tensor([0]) if touched else torch.zeros(0, dtype=torch.long)
        capture.rows = torch.tensor([0]) if touched else torch.zeros(0, dtype=torch.long)
        capture.inputs = torch.tensor([1.0]) if touched else torch.zeros(0)
        capture.grad_out = torch.tensor([[1.0, -1.0, 0.5]])
        optimizer.step()
        reference.grad = torch.zeros(2, 3)
        if touched:
            reference.grad[0] = torch.tensor([1.0, -1.0, 0.5])
        adam.step()
        seen_subnormal |= bool(_is_subnormal(adam.state[reference]["exp_avg"].numpy()).any())
        assert not _is_subnormal(optimizer.exp_avg).any()
    assert seen_subnormal  # torch's AdamW passes through subnormal moments here
    optimizer.make_current()  # the lazy update's idle row 0 catches up on its 999 steps
    assert not _is_subnormal(optimizer.exp_avg).any()
    np.testing.assert_array_equal(optimizer.exp_avg, 0.0)
    # and the weights do not notice: the flushed moments moved them by less than 1e-30
    np.testing.assert_allclose(weight.numpy(), reference.detach().numpy(), rtol=1e-6)


def _network():
    from skhash.nash._network import NASHNetwork
    torch.manual_seed(0)
    return NASHNetwork(6, 2, (3,), "fixed", 0.5)


@pytest.mark.parametrize("row_sparse", [False, True])
def test_training_optimizer_flushes_after_each_step_on_the_cpu(row_sparse):
    from skhash import NASHHasher

    class Hasher(NASHHasher):
        _row_sparse_first_layer = row_sparse

    network = _network()
    optimizer = _TrainingOptimizer(Hasher(2, learning_rate_init=0.01), network,
                                   torch.device("cpu"))
    assert optimizer.flush_subnormals
    bias = network.decoder.word_bias
    for p in network.parameters():
        p.grad = torch.zeros_like(p)
    bias.grad = torch.ones_like(bias)
    if row_sparse:  # the first layer's update needs a captured batch
        cap = optimizer.first_layer.capture
        cap.indices = cap.rows = torch.zeros(0, dtype=torch.long)
        cap.inputs, cap.grad_out = torch.zeros(0), torch.zeros(1, 3)
    optimizer.step()
    m = optimizer.others.state[bias]["exp_avg"]
    m[:3] = torch.tensor([1.2e-38, -1.2e-38, 1e-3])  # 0.9 times the first two: subnormal
    bias.grad = torch.zeros_like(bias)
    if row_sparse:
        cap.indices = cap.rows = torch.zeros(0, dtype=torch.long)
        cap.inputs, cap.grad_out = torch.zeros(0), torch.zeros(1, 3)
    optimizer.step()
    assert m[:2].tolist() == [0.0, 0.0]
    assert m[2].item() == pytest.approx(9e-4)
    assert not _is_subnormal(m.numpy()).any()


def test_training_optimizer_leaves_moments_alone_off_the_cpu():
    from skhash import NASHHasher

    class Hasher(NASHHasher):
        _row_sparse_first_layer = False

    # GPUs compute on subnormal numbers at full speed; only the flag is checked here
    optimizer = _TrainingOptimizer(Hasher(2), _network(), torch.device("cuda"))
    assert not optimizer.flush_subnormals
