"""A training matrix whose every row is empty is refused by name; single empty rows are not."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone

from skhash import SupervisedNASHHasher
from skhash.baselines import LSHHasher

from ._fast_estimators import fast_estimators

LEARNING = [e for e in fast_estimators() if not isinstance(e, LSHHasher)]


def _fit(estimator, X):
    y = np.arange(X.shape[0]) % 2
    return estimator.fit(X, y) if isinstance(estimator, SupervisedNASHHasher) else \
        estimator.fit(X)


@pytest.mark.parametrize("estimator", LEARNING, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("make", [lambda: np.zeros((6, 5)), lambda: sp.csr_matrix((6, 5))],
                         ids=["dense", "sparse"])
def test_all_empty_training_rows_are_refused(estimator, make):
    name = type(estimator).__name__
    with pytest.raises(ValueError, match=rf"{name} cannot be fitted on X of shape \(6, 5\): "
                                         "every row is empty"):
        _fit(clone(estimator), make())


@pytest.mark.parametrize("estimator", LEARNING, ids=lambda e: type(e).__name__)
def test_one_non_zero_entry_is_enough_and_empty_rows_get_codes(estimator):
    X = np.zeros((6, 5))
    X[0, 0] = 1.0
    fitted = _fit(clone(estimator), X)
    codes = fitted.transform(np.zeros((2, 5)))
    assert codes.shape == (2, fitted.n_bits) and codes.dtype == np.uint8
    assert (codes[0] == codes[1]).all()  # every empty document gets the same code


def test_lsh_needs_only_the_feature_count():
    # random hyperplanes do not depend on the data: an all-empty X fixes n_features alone
    lsh = LSHHasher(n_bits=4, random_state=0).fit(sp.csr_matrix((3, 5)))
    assert lsh.projection_.shape == (5, 4)
    assert lsh.transform(sp.csr_matrix((1, 5))).tolist() == [[0, 0, 0, 0]]
