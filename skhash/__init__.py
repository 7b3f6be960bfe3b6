"""skhash: semantic hashing of documents, the scikit-learn way.

NASH hashers learn short binary codes for documents; :class:`HammingNeighbors` searches
them; :mod:`skhash.metrics` evaluates them.
"""

from ._config import config_context, get_config, set_config
from .nash import NASHHasher, SupervisedNASHHasher
from .neighbors import HammingNeighbors

__version__ = "0.1.0.dev0"

__all__ = [
    "HammingNeighbors",
    "NASHHasher",
    "SupervisedNASHHasher",
    "__version__",
    "config_context",
    "get_config",
    "set_config",
]
