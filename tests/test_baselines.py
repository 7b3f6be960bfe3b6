"""Classical baselines: LSH and ITQ codes, reproducibility, errors."""

import numpy as np
import pytest
import scipy.sparse as sp

from skhash.baselines import ITQHasher, LSHHasher
from skhash.metrics import precision_at_k

from .test_nash_hasher import topic_counts


@pytest.mark.parametrize("hasher", [LSHHasher(n_bits=16, random_state=0),
                                    ITQHasher(n_bits=8, random_state=0)])
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


def test_itq_refuses_more_bits_than_dimensions():
    with pytest.raises(ValueError, match="n_bits=8 with n_samples=10, n_features=5"):
        ITQHasher(n_bits=8).fit(np.random.default_rng(0).random((10, 5)))
