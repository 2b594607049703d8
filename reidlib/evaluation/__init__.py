"""Test protocol: query-gallery distances, CMC and mAP (REFERENCE.md §4), rank lists."""

from reidlib.evaluation.distance import pairwise_distance
from reidlib.evaluation.rank import EvalResult, evaluate, evaluate_detailed
from reidlib.evaluation.rank_list import top_valid_items

__all__ = [
    "EvalResult",
    "evaluate",
    "evaluate_detailed",
    "pairwise_distance",
    "top_valid_items",
]
