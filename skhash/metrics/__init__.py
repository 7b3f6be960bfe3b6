"""Retrieval metrics for binary codes (pure numpy; any codes, any labels)."""

from ._retrieval import precision_at_k

__all__ = ["precision_at_k"]
