"""Baseline hashers with the hashers' contract (uint8 0/1 codes from transform).

Classical: random hyperplanes (:class:`LSHHasher`), spectral hashing
(:class:`SpectralHasher`), iterative quantisation (:class:`ITQHasher`); neural: the
Gaussian VAE of VDSH (:class:`VDSHHasher`), built from NASH's own torch pieces.
"""

from ._projection import ITQHasher, LSHHasher
from ._spectral import SpectralHasher
from ._vdsh import VDSHHasher

__all__ = ["ITQHasher", "LSHHasher", "SpectralHasher", "VDSHHasher"]
