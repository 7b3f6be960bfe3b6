"""Retrieval metrics for binary codes (pure numpy; any codes, any labels)."""

from ._cosine import cosine_precision_at_k
from ._retrieval import (
    hamming_precision_recall,
    mean_average_precision,
    precision_at_k,
    precision_within_radius,
    recall_at_k,
)
from ._scorer import PrecisionAtKScorer, precision_at_k_scorer

__all__ = [
    "PrecisionAtKScorer",
    "cosine_precision_at_k",
    "hamming_precision_recall",
    "mean_average_precision",
    "precision_at_k",
    "precision_at_k_scorer",
    "precision_within_radius",
    "recall_at_k",
]
