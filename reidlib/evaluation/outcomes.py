"""What each query of an evaluation scored (`QueryOutcomes`), enough for every metric and every
bootstrap interval (`reidlib.evaluation.uncertainty`), and a difference of metrics between runs
with its interval (`Difference`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from reidlib.evaluation.rank import EvalResult

Interval = tuple[float, float]


@dataclass(frozen=True, eq=False)
class QueryOutcomes:
    """What each query scored, without the features: enough for every metric and interval.

    Attributes:
        first_match_rank: 0-based rank of the first true match, `(num_q,)` int64; −1 for a
            skipped query (no true match left after the same-pid same-camid removal).
        average_precision: AP of each query, `(num_q,)` float64; NaN for a skipped query.
    """

    first_match_rank: np.ndarray
    average_precision: np.ndarray

    def __post_init__(self) -> None:
        first = np.asarray(self.first_match_rank, dtype=np.int64)
        ap = np.asarray(self.average_precision, dtype=np.float64)
        if first.ndim != 1 or ap.shape != first.shape:
            raise ValueError(
                "first_match_rank and average_precision must be 1-D of one length, got shapes "
                f"{first.shape} and {ap.shape}"
            )
        skipped = first < 0
        if not np.array_equal(skipped, np.isnan(ap)):
            q = int(np.flatnonzero(skipped != np.isnan(ap))[0])
            raise ValueError(
                f"query {q}: first_match_rank {first[q]} but average_precision {ap[q]}; a query "
                "is skipped (rank −1) exactly when its AP is NaN"
            )
        object.__setattr__(self, "first_match_rank", first)
        object.__setattr__(self, "average_precision", ap)

    @classmethod
    def from_result(cls, result: EvalResult) -> QueryOutcomes:
        """The per-query arrays of an `evaluate_detailed` result."""
        return cls(result.first_match_rank, result.average_precision)

    def to_json(self) -> dict[str, list]:
        """Plain lists for `json.dump`; a skipped query's AP is stored as `None`."""
        ap = [None if np.isnan(x) else float(x) for x in self.average_precision]
        return {"first_match_rank": self.first_match_rank.tolist(), "average_precision": ap}

    @classmethod
    def from_json(cls, record: Mapping[str, Sequence]) -> QueryOutcomes:
        """Reads back what `to_json` wrote (`None` -> NaN)."""
        ap = [np.nan if x is None else x for x in record["average_precision"]]
        return cls(np.asarray(record["first_match_rank"]), np.asarray(ap, dtype=np.float64))

    @property
    def valid(self) -> np.ndarray:
        """Which queries count, `(num_q,)` bool."""
        return self.first_match_rank >= 0

    def metrics(self, *, ranks: Sequence[int] = (1, 5, 10, 20)) -> dict[str, float]:
        """Rank-k accuracy and mAP over the valid queries, in percent.

        Args:
            ranks: the k of each rank-k.

        Returns:
            `{"rank1": ..., "rank5": ..., "mAP": ...}`; rank-k equals `100 * cmc[k - 1]` and mAP
            `100 * mAP` of `evaluate_detailed`.
        """
        names, values = per_query_values(self, ranks)
        return dict(zip(names, (100 * values.mean(axis=1)).tolist()))


@dataclass(frozen=True)
class Difference:
    """A difference of metrics between runs, in points, with its bootstrap interval.

    Attributes:
        value: the difference on the queries as evaluated, per metric (`"rank1"`, ..., `"mAP"`).
        interval: its percentile interval `(lo, hi)`, per metric.
    """

    value: dict[str, float]
    interval: dict[str, Interval]


def per_query_values(outcomes: QueryOutcomes, ranks: Sequence[int]) -> tuple[list[str], np.ndarray]:
    """Each metric as a per-query value whose mean over the valid queries is the metric.

    Returns:
        `(names, values)`: `["rank1", ..., "mAP"]` and `(len(ranks) + 1, num_valid)` float64,
        rows hit@k = [first_match_rank < k] and AP.
    """
    if any(k < 1 for k in ranks):
        raise ValueError(f"ranks must be >= 1, got {tuple(ranks)}")
    valid = outcomes.valid
    if not valid.any():
        raise ValueError(f"none of the {valid.size} queries is valid (all skipped)")
    first = outcomes.first_match_rank[valid]
    hits = first[None, :] < np.asarray(ranks)[:, None]
    values = np.vstack([hits.astype(np.float64), outcomes.average_precision[valid][None, :]])
    return [f"rank{k}" for k in ranks] + ["mAP"], values
