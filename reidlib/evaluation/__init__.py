"""Test protocol: query-gallery distances, CMC and mAP (docs/decisions.md §4), rank lists."""

from reidlib.evaluation.distance import pairwise_distance
from reidlib.evaluation.rank import EvalResult, evaluate, evaluate_detailed
from reidlib.evaluation.rank_list import top_valid_items
from reidlib.evaluation.uncertainty import (
    Difference,
    QueryOutcomes,
    bootstrap_ci,
    difference_of_differences,
    format_interval,
    paired_difference,
    verdict,
)

__all__ = [
    "Difference",
    "EvalResult",
    "QueryOutcomes",
    "bootstrap_ci",
    "difference_of_differences",
    "evaluate",
    "evaluate_detailed",
    "format_interval",
    "paired_difference",
    "pairwise_distance",
    "top_valid_items",
    "verdict",
]
