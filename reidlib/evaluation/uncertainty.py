"""95% bootstrap intervals for rank-k and mAP over queries and training seeds, and verdicts
read from them.

The bootstrap redraws the valid queries with replacement, recomputes each metric on every
redrawn set, and takes the central 95% of those replicates (percentile interval) as the range
the metric could have taken on another draw of queries of the same size. Two runs on the same
queries are compared on the same redrawn sets (paired), so the query difficulty they share
cancels out of their difference. A setting trained once per seed is resampled at two levels
(`seed_query_ci`, `seed_query_difference`): each replicate redraws the queries, then the seeds,
so the interval carries the training randomness as well as the queries'.

Every resampling is one index matrix `(resamples, n)` from `np.random.default_rng(seed)`, turned
into per-query counts so each replicate is a row of one matrix product: no loop over resamples.
Metrics are in percent and differences in points, as the notebooks report them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from reidlib.evaluation.outcomes import Difference, Interval, QueryOutcomes, per_query_values

Expected = Literal["positive", "negative", "within"]

SAME = "same direction as the paper"
OPPOSITE = "opposite direction"
UNRESOLVED = "not resolved at this scale"


def _resample_counts(rng: np.random.Generator, n: int, resamples: int) -> np.ndarray:
    """How often each of `n` items (queries, or training seeds) is drawn in each resample,
    `(resamples, n)` int64.

    The draws are one index matrix `rng.integers(0, n, size=(resamples, n))`; row r of the
    counts is `np.bincount(indices[r], minlength=n)`.
    """
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    indices = rng.integers(0, n, size=(resamples, n))
    offsets = indices + n * np.arange(resamples)[:, None]
    return np.bincount(offsets.ravel(), minlength=resamples * n).reshape(resamples, n)


def _percentile(replicates: np.ndarray, level: float) -> np.ndarray:
    """The central `level` of each column: `(2, m)`, rows lo and hi (linear interpolation)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    tail = 100 * (1 - level) / 2
    return np.percentile(replicates, [tail, 100 - tail], axis=0)


def _intervals(names: list[str], replicates: np.ndarray, level: float) -> dict[str, Interval]:
    lo, hi = _percentile(replicates, level)
    return {name: (float(a), float(b)) for name, a, b in zip(names, lo, hi)}


def _seed_values(
    runs: Sequence[QueryOutcomes], ranks: Sequence[int]
) -> tuple[list[str], np.ndarray]:
    """Per-query values of each run of one setting, `(S, m, num_valid)`: the runs (one per
    training seed) must score the same queries against the same gallery."""
    if not runs:
        raise ValueError("expected at least one run (one per training seed), got none")
    first = runs[0]
    for i, run in enumerate(runs[1:], start=1):
        if run.valid.size != first.valid.size or not np.array_equal(run.valid, first.valid):
            raise ValueError(
                f"run {i} scores other queries than run 0 ({run.valid.size} against "
                f"{first.valid.size} queries, or other valid ones): not the same queries and gallery"
            )
    names = per_query_values(first, ranks)[0]
    return names, np.stack([per_query_values(run, ranks)[1] for run in runs])


def _replicates(counts: np.ndarray, weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each metric on each two-level resample, in percent, `(resamples, m)`: run s's metric on
    resample r's queries, `counts (R, n) @ values[s] (m, n).T / n`, weighted by how often
    resample r drew seed s (`weights (R, S)`, rows summing to 1)."""
    per_run = 100 * np.einsum("rn,smn->srm", counts, values) / counts.shape[1]
    return np.einsum("rs,srm->rm", weights, per_run)


def _seed_weights(rng: np.random.Generator, seeds: int, resamples: int) -> np.ndarray:
    """Resample r's draw of `seeds` training seeds with replacement, as weights `(R, S)`."""
    return _resample_counts(rng, seeds, resamples) / seeds


def seed_query_ci(
    runs: Sequence[QueryOutcomes],
    *,
    ranks: Sequence[int] = (1, 5, 10, 20),
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, Interval]:
    """Two-level percentile bootstrap interval of rank-k and mAP over training seeds and
    queries, in percent: each replicate redraws the queries, then the seeds, both with
    replacement, and averages the redrawn seeds' metrics on the redrawn queries. With one seed
    it is the interval over queries alone (`bootstrap_ci`, the same draws).

    Args:
        runs: one setting's per-query results, one run per training seed, on the same queries.
        ranks, resamples, level, seed: as `bootstrap_ci`.

    Returns:
        `{"rank1": (lo, hi), ..., "mAP": (lo, hi)}` around the mean over the seeds.
    """
    names, values = _seed_values(runs, ranks)
    rng = np.random.default_rng(seed)
    counts = _resample_counts(rng, values.shape[2], resamples)
    weights = _seed_weights(rng, len(runs), resamples)
    return _intervals(names, _replicates(counts, weights, values), level)


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
    return seed_query_ci([outcomes], ranks=ranks, resamples=resamples, level=level, seed=seed)


def _gain(
    a: Sequence[QueryOutcomes], b: Sequence[QueryOutcomes], ranks: Sequence[int]
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The per-query values of two settings' runs on the same queries, `(S_a, m, n)` and
    `(S_b, m, n)`."""
    names, values_a = _seed_values(a, ranks)
    values_b = _seed_values(b, ranks)[1]
    if values_a.shape[2] != values_b.shape[2] or not np.array_equal(a[0].valid, b[0].valid):
        n_a, n_b = a[0].valid.size, b[0].valid.size
        if n_a != n_b:
            raise ValueError(f"run a has {n_a} queries and run b {n_b}: not the same queries")
        differ = np.flatnonzero(a[0].valid != b[0].valid)
        raise ValueError(
            f"the valid-query masks differ at {differ.size} queries (first: query "
            f"{int(differ[0])}): not the same queries and gallery"
        )
    return names, values_a, values_b


def _gain_replicates(
    rng: np.random.Generator, counts: np.ndarray, values_a: np.ndarray, values_b: np.ndarray
) -> np.ndarray:
    """b − a on each resample: the same redrawn queries for both (paired), each setting's
    seeds redrawn on their own (a seed of one setting is no partner of the other's)."""
    resamples = counts.shape[0]
    weights_a = _seed_weights(rng, values_a.shape[0], resamples)
    weights_b = _seed_weights(rng, values_b.shape[0], resamples)
    return _replicates(counts, weights_b, values_b) - _replicates(counts, weights_a, values_a)


def _mean_gain(values_a: np.ndarray, values_b: np.ndarray) -> np.ndarray:
    """b − a in points, each setting's metric averaged over its seeds, `(m,)`."""
    return 100 * (values_b.mean(axis=(0, 2)) - values_a.mean(axis=(0, 2)))


def seed_query_difference(
    a: Sequence[QueryOutcomes],
    b: Sequence[QueryOutcomes],
    *,
    ranks: Sequence[int] = (1, 5, 10, 20),
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> Difference:
    """b − a, each averaged over its training seeds, with a two-level bootstrap interval:
    queries redrawn once for both settings (paired), then each setting's seeds redrawn. With
    one seed each it is `paired_difference` (the same draws).

    Args:
        a: the baseline's per-query results, one run per seed.
        b: the other setting's, one run per seed, on the same queries and gallery.
        ranks, resamples, level, seed: as `paired_difference`.

    Returns:
        A `Difference` in points, keyed like `QueryOutcomes.metrics`.

    Raises:
        ValueError: when runs differ in number of queries or in which queries are valid.
    """
    names, values_a, values_b = _gain(a, b, ranks)
    rng = np.random.default_rng(seed)
    counts = _resample_counts(rng, values_a.shape[2], resamples)
    replicates = _gain_replicates(rng, counts, values_a, values_b)
    value = dict(zip(names, _mean_gain(values_a, values_b).tolist()))
    return Difference(value=value, interval=_intervals(names, replicates, level))


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
    return seed_query_difference([a], [b], ranks=ranks, resamples=resamples, level=level, seed=seed)


def difference_of_differences(
    first: tuple[Sequence[QueryOutcomes], Sequence[QueryOutcomes]],
    second: tuple[Sequence[QueryOutcomes], Sequence[QueryOutcomes]],
    *,
    ranks: Sequence[int] = (1, 5, 10, 20),
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> Difference:
    """(b1 − a1) − (b2 − a2): whether a change gains more on one query set than on another.

    Each gain is paired within its own queries (e.g. MARS initialisation against ImageNet on
    iLIDS-VID, then on PRID2011) and averaged over each setting's training seeds; the two query
    sets are resampled independently, then every setting's seeds, and the interval is that of
    the difference of the two gains' replicates.

    Args:
        first: `(a1, b1)`, baseline and other setting on the first query set, one run per seed.
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
    names, a1, b1 = _gain(*first, ranks)
    a2, b2 = _gain(*second, ranks)[1:]
    counts_1 = _resample_counts(rng, a1.shape[2], resamples)
    counts_2 = _resample_counts(rng, a2.shape[2], resamples)
    replicates = _gain_replicates(rng, counts_1, a1, b1) - _gain_replicates(rng, counts_2, a2, b2)
    value = dict(zip(names, (_mean_gain(a1, b1) - _mean_gain(a2, b2)).tolist()))
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
