"""Fast constructor settings for every public estimator, kept in one place.

The common checks and the property tests build estimators from here, so a new estimator
is added to the conformance suite by adding one line.
"""

from skhash import NASHHasher, SupervisedNASHHasher
from skhash.baselines import ITQHasher, LSHHasher, SpectralHasher, VDSHHasher

FAST_NASH = dict(n_bits=8, hidden_layer_sizes=(16,), max_iter=3, batch_size=32)
FAST_SUPERVISED = FAST_NASH


def fast_estimators():
    """One fast instance of each public estimator."""
    return [
        NASHHasher(**FAST_NASH),
        NASHHasher(**FAST_NASH, target_neighbors=3),
        SupervisedNASHHasher(**FAST_SUPERVISED),
        LSHHasher(n_bits=8),
        # the checks' smallest inputs have 1 feature; ITQ says so with a clear error above
        ITQHasher(n_bits=1),
        SpectralHasher(n_bits=8),
        VDSHHasher(n_bits=8, hidden_layer_sizes=(16,), max_iter=3, batch_size=32),
    ]


#: Common checks expected to fail, as {(estimator class name, check name): reason}.
EXPECTED_FAILED_CHECKS = {}
