"""Training on a CUDA device: skipped where torch sees no GPU (as in CI).

What must hold on a GPU as on the CPU: the fitted model comes back to the CPU, codes are
0/1, the same ``random_state`` gives the same model, the user's random state is left
alone, and the codes carry the data's structure.
"""

import pickle

import numpy as np
import pytest
import torch

from skhash import NASHHasher, SupervisedNASHHasher
from skhash.baselines import VDSHHasher
from skhash.metrics import precision_at_k

from ._fast_estimators import FAST_NASH
from .test_nash_hasher import topic_counts

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

SETTINGS = {**FAST_NASH, "max_iter": 30, "device": "cuda"}


@pytest.fixture(scope="module")
def data():
    return topic_counts(n_docs=300, n_words=60, n_topics=3, seed=1)


@pytest.mark.parametrize("compute_dtype", ["float32", "bfloat16"])
def test_fit_on_cuda_returns_a_cpu_model_with_binary_codes(data, compute_dtype):
    X, topics = data
    hasher = NASHHasher(**SETTINGS, compute_dtype=compute_dtype, random_state=0).fit(X)
    assert all(p.device.type == "cpu" for p in hasher.network_.parameters())
    codes = hasher.transform(X)
    assert codes.shape == (300, 8) and codes.dtype == np.uint8
    assert set(np.unique(codes)) <= {0, 1}
    assert hasher.predict(X).shape == (300,)
    assert len(hasher.loss_curve_) == hasher.n_iter_ == 30
    assert np.isfinite(hasher.loss_curve_).all()
    # the topics are disjoint vocabularies: the codes must separate them
    assert precision_at_k(codes, topics, k=50) > 0.9


def test_same_random_state_gives_the_same_model_on_cuda(data):
    X, _ = data
    first = NASHHasher(**SETTINGS, random_state=3).fit(X)
    second = NASHHasher(**SETTINGS, random_state=3).fit(X)
    np.testing.assert_array_equal(first.transform(X), second.transform(X))
    assert first.loss_curve_ == second.loss_curve_


def test_neighbour_targets_train_reproducibly_on_cuda(data):
    # many targets a row (the neighbours' words), summed on the GPU without atomics
    X, topics = data
    first = NASHHasher(**SETTINGS, target_neighbors=5, random_state=2).fit(X)
    second = NASHHasher(**SETTINGS, target_neighbors=5, random_state=2).fit(X)
    assert first.loss_curve_ == second.loss_curve_
    np.testing.assert_array_equal(first.transform(X), second.transform(X))
    assert precision_at_k(first.transform(X), topics, k=50) > 0.9


def test_cuda_fit_leaves_the_users_random_state_alone(data):
    X, _ = data
    torch.manual_seed(1234)
    cpu_state, cuda_state = torch.get_rng_state(), torch.cuda.get_rng_state()
    NASHHasher(**SETTINGS, random_state=0).fit(X)
    assert torch.equal(torch.get_rng_state(), cpu_state)
    assert torch.equal(torch.cuda.get_rng_state(), cuda_state)


def test_supervised_and_vdsh_train_on_cuda(data):
    X, topics = data
    sup = SupervisedNASHHasher(**SETTINGS, random_state=0).fit(X, topics)
    assert precision_at_k(sup.transform(X), topics, k=50) > 0.9
    assert set(sup.predict(X)) <= set(topics)
    vdsh = VDSHHasher(n_bits=8, hidden_layer_sizes=(16,), max_iter=30, batch_size=32,
                      device="cuda", random_state=0).fit(X)
    codes = vdsh.transform(X)
    assert codes.shape == (300, 8) and set(np.unique(codes)) <= {0, 1}


def test_cuda_model_pickles_and_keeps_training_warm(data):
    X, _ = data
    hasher = NASHHasher(**{**SETTINGS, "max_iter": 5}, random_state=0).fit(X)
    restored = pickle.loads(pickle.dumps(hasher))
    np.testing.assert_array_equal(restored.transform(X), hasher.transform(X))
    restored.set_params(warm_start=True).fit(X)
    assert restored.n_iter_ == 10
    assert all(p.device.type == "cpu" for p in restored.network_.parameters())
