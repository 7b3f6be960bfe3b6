"""Classical hashing baselines with the hashers' contract (uint8 0/1 codes from transform)."""

from ._projection import ITQHasher, LSHHasher

__all__ = ["ITQHasher", "LSHHasher"]
