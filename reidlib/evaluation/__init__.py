"""Test protocol: query-gallery distances, CMC and mAP (docs/decisions.md §4), rank lists;
the temporal attention's health (docs/decisions.md §9)."""

from reidlib.evaluation.attention import (
    AttentionHealth,
    InitSurvey,
    attention_health,
    dead_at_init,
)
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
    seed_query_ci,
    seed_query_difference,
    verdict,
)

__all__ = [
    "AttentionHealth",
    "Difference",
    "EvalResult",
    "InitSurvey",
    "QueryOutcomes",
    "attention_health",
    "bootstrap_ci",
    "dead_at_init",
    "difference_of_differences",
    "evaluate",
    "evaluate_detailed",
    "format_interval",
    "paired_difference",
    "pairwise_distance",
    "seed_query_ci",
    "seed_query_difference",
    "top_valid_items",
    "verdict",
]
