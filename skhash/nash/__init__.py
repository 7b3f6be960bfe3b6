"""NASH hashers: Bernoulli-VAE semantic hashing (Shen et al., ACL 2018)."""

from ._supervised import SupervisedNASHHasher
from ._unsupervised import NASHHasher

__all__ = ["NASHHasher", "SupervisedNASHHasher"]
