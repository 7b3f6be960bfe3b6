"""NASH hashers: Bernoulli-VAE semantic hashing (Shen et al., ACL 2018)."""

from ._unsupervised import NASHHasher

__all__ = ["NASHHasher"]
