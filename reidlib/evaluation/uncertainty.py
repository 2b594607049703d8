"""95% bootstrap intervals over queries for rank-k and mAP, and verdicts read from them.

The bootstrap redraws the valid queries with replacement, recomputes each metric on every
redrawn set, and takes the central 95% of those replicates (percentile interval) as the range
the metric could have taken on another draw of queries of the same size. Two runs on the same
queries are compared on the same redrawn sets (paired), so the query difficulty they share
cancels out of their difference.

Every resampling is one index matrix `(resamples, n)` from `np.random.default_rng(seed)`, turned
into per-query counts so each replicate is a row of one matrix product: no loop over resamples.
Metrics are in percent and differences in points, as the notebooks report them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from reidlib.evaluation.rank import EvalResult

Interval = tuple[float, float]
Expected = Literal["positive", "negative", "within"]

SAME = "same direction as the paper"
OPPOSITE = "opposite direction"
UNRESOLVED = "not resolved at this scale"


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
        names, values = _per_query_values(self, ranks)
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


def _per_query_values(
    outcomes: QueryOutcomes, ranks: Sequence[int]
) -> tuple[list[str], np.ndarray]:
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


def _resample_counts(rng: np.random.Generator, n: int, resamples: int) -> np.ndarray:
    """How often each of `n` queries is drawn in each resample, `(resamples, n)` int64.

    The draws are one index matrix `rng.integers(0, n, size=(resamples, n))`; row r of the
    counts is `np.bincount(indices[r], minlength=n)`.
    """
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    indices = rng.integers(0, n, size=(resamples, n))
    offsets = indices + n * np.arange(resamples)[:, None]
    return np.bincount(offsets.ravel(), minlength=resamples * n).reshape(resamples, n)


def _replicates(counts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each metric on each resample, in percent: `(resamples, n) @ (n, m)` -> `(resamples, m)`."""
    return 100 * (counts @ values.T) / counts.shape[1]


def _percentile(replicates: np.ndarray, level: float) -> np.ndarray:
    """The central `level` of each column: `(2, m)`, rows lo and hi (linear interpolation)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    tail = 100 * (1 - level) / 2
    return np.percentile(replicates, [tail, 100 - tail], axis=0)


def _intervals(names: list[str], replicates: np.ndarray, level: float) -> dict[str, Interval]:
    lo, hi = _percentile(replicates, level)
    return {name: (float(a), float(b)) for name, a, b in zip(names, lo, hi)}


def bootstrap_ci(
    outcomes: QueryOutcomes,
    *,
    ranks: Sequence[int] = (1, 5, 10, 20),
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, Interval]:
    """Percentile bootstrap interval of rank-k and mAP over the valid queries, in percent.

    Args:
        outcomes: one run's per-query results.
        ranks: the k of each rank-k.
        resamples: bootstrap replicates.
        level: coverage of the interval.
        seed: seed of `np.random.default_rng`; the same seed gives the same intervals.

    Returns:
        `{"rank1": (lo, hi), ..., "mAP": (lo, hi)}`, the keys of `QueryOutcomes.metrics`.
    """
    names, values = _per_query_values(outcomes, ranks)
    counts = _resample_counts(np.random.default_rng(seed), values.shape[1], resamples)
    return _intervals(names, _replicates(counts, values), level)


def _paired_values(
    a: QueryOutcomes, b: QueryOutcomes, ranks: Sequence[int]
) -> tuple[list[str], np.ndarray]:
    """Per-query b − a of every metric on the shared valid queries, `(m, num_valid)`."""
    n_a, n_b = a.valid.size, b.valid.size
    if n_a != n_b:
        raise ValueError(f"run a has {n_a} queries and run b {n_b}: not the same queries")
    differ = np.flatnonzero(a.valid != b.valid)
    if differ.size:
        raise ValueError(
            f"the valid-query masks differ at {differ.size} queries (first: query "
            f"{int(differ[0])}): not the same queries and gallery"
        )
    names, values_a = _per_query_values(a, ranks)
    return names, _per_query_values(b, ranks)[1] - values_a


def paired_difference(
    a: QueryOutcomes,
    b: QueryOutcomes,
    *,
    ranks: Sequence[int] = (1, 5, 10, 20),
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> Difference:
    """b − a on the same queries, with a paired bootstrap interval.

    Both runs are scored on the same resampled queries, so the interval is that of the
    per-query difference, narrower than the two runs' own intervals when the runs agree on
    which queries are hard.

    Args:
        a: the baseline run's per-query results.
        b: the other run's, on the same queries and gallery.
        ranks: the k of each rank-k.
        resamples: bootstrap replicates.
        level: coverage of the interval.
        seed: seed of `np.random.default_rng`.

    Returns:
        A `Difference` in points, keyed like `QueryOutcomes.metrics`.

    Raises:
        ValueError: when the runs differ in number of queries or in which queries are valid.
    """
    names, diff = _paired_values(a, b, ranks)
    counts = _resample_counts(np.random.default_rng(seed), diff.shape[1], resamples)
    value = dict(zip(names, (100 * diff.mean(axis=1)).tolist()))
    return Difference(value=value, interval=_intervals(names, _replicates(counts, diff), level))


def difference_of_differences(
    first: tuple[QueryOutcomes, QueryOutcomes],
    second: tuple[QueryOutcomes, QueryOutcomes],
    *,
    ranks: Sequence[int] = (1, 5, 10, 20),
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> Difference:
    """(b1 − a1) − (b2 − a2): whether a change gains more on one query set than on another.

    Each gain is paired within its own queries (e.g. MARS initialisation against ImageNet on
    iLIDS-VID, then on PRID2011); the two query sets are resampled independently, and the
    interval is that of the difference of the two gains' replicates. The first set's
    resamples are those `paired_difference(a1, b1, seed=seed)` draws.

    Args:
        first: `(a1, b1)`, baseline and other run on the first query set.
        second: `(a2, b2)`, the same two settings on the second query set.
        ranks: the k of each rank-k.
        resamples: bootstrap replicates.
        level: coverage of the interval.
        seed: seed of `np.random.default_rng`.

    Returns:
        A `Difference` in points, keyed like `QueryOutcomes.metrics`.

    Raises:
        ValueError: when a pair's runs differ in number of queries or valid queries.
    """
    rng = np.random.default_rng(seed)
    names, diff_1 = _paired_values(*first, ranks)
    diff_2 = _paired_values(*second, ranks)[1]
    counts_1 = _resample_counts(rng, diff_1.shape[1], resamples)
    counts_2 = _resample_counts(rng, diff_2.shape[1], resamples)
    replicates = _replicates(counts_1, diff_1) - _replicates(counts_2, diff_2)
    value = dict(zip(names, (100 * (diff_1.mean(axis=1) - diff_2.mean(axis=1))).tolist()))
    return Difference(value=value, interval=_intervals(names, replicates, level))


def verdict(interval: Interval, *, expected: Expected, tolerance: float = 1.0) -> str:
    """Whether a measured difference agrees with the paper, read from its interval only.

    Args:
        interval: `(lo, hi)` of the measured difference, in points.
        expected: the paper's claim: `"positive"` (the difference is above 0), `"negative"`
            (below 0) or `"within"` (|difference| < `tolerance`).
        tolerance: the bound of a `"within"` claim, in points.

    Returns:
        `"same direction as the paper"` when the whole interval agrees with the claim,
        `"opposite direction"` when the whole interval contradicts it, else
        `"not resolved at this scale"`.
    """
    lo, hi = interval
    if not lo <= hi:
        raise ValueError(f"interval must have lo <= hi, got ({lo}, {hi})")
    if expected == "within":
        if tolerance <= 0:
            raise ValueError(f"tolerance must be > 0 for a 'within' claim, got {tolerance}")
        agrees = -tolerance < lo and hi < tolerance  # inside (−tol, tol)
        contradicts = hi < -tolerance or lo > tolerance  # outside [−tol, tol]
    elif expected == "positive":
        agrees, contradicts = lo > 0, hi < 0
    elif expected == "negative":
        agrees, contradicts = hi < 0, lo > 0
    else:
        raise ValueError(f"expected must be 'positive', 'negative' or 'within', got {expected!r}")
    return SAME if agrees else OPPOSITE if contradicts else UNRESOLVED


def format_interval(
    value: float, interval: Interval, *, digits: int = 1, signed: bool = False
) -> str:
    """A table cell: `format_interval(20.94, (15.2, 26.71))` -> `"20.9 [15.2, 26.7]"`; with
    `signed`, differences read `"+1.5 [-0.3, +3.2]"`."""
    spec = f"{'+' if signed else ''}.{digits}f"
    lo, hi = interval
    return f"{value:{spec}} [{lo:{spec}}, {hi:{spec}}]"
