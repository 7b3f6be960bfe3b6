"""scikit-learn's common estimator checks over every public estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from ._fast_estimators import EXPECTED_FAILED_CHECKS, fast_estimators


def _expected_failed(estimator):
    name = type(estimator).__name__
    return {check: why for (cls, check), why in EXPECTED_FAILED_CHECKS.items() if cls == name}


@parametrize_with_checks(fast_estimators(), expected_failed_checks=_expected_failed)
def test_sklearn_compatible(estimator, check):
    check(estimator)
