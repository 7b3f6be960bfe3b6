"""Exact Hamming-distance search over binary codes."""

from ._hamming_neighbors import HammingNeighbors

__all__ = ["HammingNeighbors"]
