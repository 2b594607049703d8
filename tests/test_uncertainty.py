"""Bootstrap intervals over queries, paired differences, verdicts and the paper's claims."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from reidlib import claims, paper
from reidlib.claims import CLAIMS, Claim, claims_for
from reidlib.evaluation import (
    Difference,
    QueryOutcomes,
    bootstrap_ci,
    difference_of_differences,
    evaluate_detailed,
    format_interval,
    paired_difference,
    seed_query_ci,
    seed_query_difference,
    verdict,
)

SAME, OPPOSITE, UNRESOLVED = (
    "same direction as the paper",
    "opposite direction",
    "not resolved at this scale",
)


def outcomes_at(p: float, n: int = 300) -> QueryOutcomes:
    """`n` queries, the first `round(p * n)` matched at rank 0 (AP 1), the rest at rank 7."""
    first = np.where(np.arange(n) < round(p * n), 0, 7)
    return QueryOutcomes(first, np.where(first == 0, 1.0, 0.125))


def random_outcomes(rng: np.random.Generator, n: int) -> QueryOutcomes:
    return QueryOutcomes(rng.integers(0, 30, n), rng.random(n))


def test_metrics_equal_evaluate_detailed_on_a_random_distance_matrix():
    rng = np.random.default_rng(0)
    q_pids, g_pids = rng.integers(0, 12, 60), rng.integers(0, 10, 200)  # pids 10, 11: skipped
    q_camids, g_camids = rng.integers(0, 3, 60), rng.integers(0, 3, 200)
    result = evaluate_detailed(rng.random((60, 200)), q_pids, g_pids, q_camids, g_camids)
    assert 0 < result.num_valid_queries < 60
    outcomes = QueryOutcomes.from_result(result)
    np.testing.assert_array_equal(outcomes.valid, result.valid)
    got = outcomes.metrics(ranks=(1, 5, 10, 20))
    for k in (1, 5, 10, 20):
        assert got[f"rank{k}"] == pytest.approx(100 * result.cmc[k - 1], abs=1e-9)
    assert got["mAP"] == pytest.approx(100 * result.mAP, abs=1e-9)


def test_interval_collapses_to_the_point_when_every_query_is_the_same():
    outcomes = QueryOutcomes(np.full(50, 3), np.full(50, 0.37))
    ci = bootstrap_ci(outcomes, ranks=(1, 5), resamples=1000)
    assert set(ci) == {"rank1", "rank5", "mAP"}
    assert ci["rank1"] == (0.0, 0.0) and ci["rank5"] == (100.0, 100.0)
    assert ci["mAP"] == pytest.approx((37.0, 37.0), abs=1e-9)


def test_interval_by_hand_from_the_seeded_resample_matrix():
    # Four valid queries and one skipped (index 2), which the bootstrap leaves out.
    outcomes = QueryOutcomes(np.array([0, 3, -1, 0, 12]), np.array([1.0, 0.25, np.nan, 0.5, 0.1]))
    ci = bootstrap_ci(outcomes, ranks=(1,), resamples=5, level=0.95, seed=7)
    # The 5 resamples of the 4 valid queries that seed 7 draws, and their mean AP (%):
    indices = np.random.default_rng(7).integers(0, 4, size=(5, 4))
    np.testing.assert_array_equal(
        indices, [[3, 2, 2, 3], [2, 3, 3, 0], [0, 1, 1, 3], [3, 0, 1, 3], [0, 3, 0, 1]]
    )
    # AP (1, .25, .5, .1) -> 30, 42.5, 40, 36.25, 58.75; sorted 30, 36.25, 40, 42.5, 58.75
    # 2.5 % and 97.5 % of 5 sorted values sit at positions 0.1 and 3.9 (linear interpolation):
    # 30 + 0.1 * 6.25 = 30.625 and 42.5 + 0.9 * 16.25 = 57.125
    assert ci["mAP"] == pytest.approx((30.625, 57.125), abs=1e-9)
    # rank-1 hits (1, 0, 1, 0) -> 50, 50, 25, 25, 50 % -> sorted 25, 25, 50, 50, 50
    assert ci["rank1"] == pytest.approx((25.0, 50.0), abs=1e-9)


def test_same_seed_same_intervals_other_seed_other_intervals():
    outcomes = random_outcomes(np.random.default_rng(1), 120)
    assert bootstrap_ci(outcomes, seed=3) == bootstrap_ci(outcomes, seed=3)
    assert bootstrap_ci(outcomes, seed=3) != bootstrap_ci(outcomes, seed=4)


def test_rank1_interval_width_at_300_queries_matches_the_normal_approximation():
    outcomes = outcomes_at(0.3)
    lo, hi = bootstrap_ci(outcomes, ranks=(1,))["rank1"]
    assert outcomes.metrics(ranks=(1,))["rank1"] == pytest.approx(30.0)
    assert lo < 30.0 < hi
    expected = 2 * 1.96 * math.sqrt(0.3 * 0.7 / 300) * 100  # ≈ 10.4 points
    assert hi - lo == pytest.approx(expected, abs=1.0)


def test_paired_difference_by_hand_from_the_seeded_resample_matrix():
    rng = np.random.default_rng(2)
    a, b = random_outcomes(rng, 6), random_outcomes(rng, 6)
    d = paired_difference(a, b, ranks=(5,), resamples=5, seed=11)
    indices = np.random.default_rng(11).integers(0, 6, size=(5, 6))
    for name, per_a, per_b in (
        ("rank5", a.first_match_rank < 5, b.first_match_rank < 5),
        ("mAP", a.average_precision, b.average_precision),
    ):
        assert d.value[name] == pytest.approx(100 * (per_b.mean() - per_a.mean()), abs=1e-9)
        s = sorted(100 * (per_b[row].mean() - per_a[row].mean()) for row in indices)
        expected = (s[0] + 0.1 * (s[1] - s[0]), s[3] + 0.9 * (s[4] - s[3]))
        assert d.interval[name] == pytest.approx(expected, abs=1e-9), name


def test_paired_interval_is_narrower_than_either_run_for_correlated_runs():
    rng = np.random.default_rng(3)
    a = QueryOutcomes(rng.integers(0, 2, 300), rng.random(300))  # rank-1 about 50 %
    improved = rng.random(300) < 0.05  # b: a with 5 % of the queries now matched at rank 0
    b = QueryOutcomes(
        np.where(improved, 0, a.first_match_rank), np.where(improved, 1.0, a.average_precision)
    )
    d = paired_difference(a, b)
    for name in ("rank1", "mAP"):
        w_a, w_b = (np.diff(bootstrap_ci(run)[name])[0] for run in (a, b))
        unpaired = math.hypot(w_a, w_b)  # the width of the difference of independent runs
        assert np.diff(d.interval[name])[0] < 0.5 * unpaired, name
        lo, hi = d.interval[name]
        assert 0 < lo < d.value[name] < hi
    lo, hi = d.interval["rank1"]
    assert paired_difference(b, a).interval["rank1"] == pytest.approx((-hi, -lo))  # a − b


def test_paired_difference_names_the_mismatched_queries():
    a = QueryOutcomes(np.array([0, 1, 2, 3]), np.array([1.0, 0.5, 0.3, 0.2]))
    with pytest.raises(ValueError, match="run a has 4 queries and run b 3"):
        paired_difference(a, QueryOutcomes(np.array([0, 1, 2]), np.array([1.0, 0.5, 0.3])))
    skipped = QueryOutcomes(np.array([0, 1, -1, 3]), np.array([1.0, 0.5, np.nan, 0.2]))
    with pytest.raises(ValueError, match=r"differ at 1 queries \(first: query 2\)"):
        paired_difference(a, skipped)
    with pytest.raises(ValueError, match=r"differ at 1 queries \(first: query 2\)"):
        difference_of_differences(([a], [a]), ([skipped], [a]))


def test_difference_of_differences_pairs_within_and_resamples_each_set_apart():
    rng = np.random.default_rng(4)
    a1, b1 = random_outcomes(rng, 200), random_outcomes(rng, 200)
    a2, b2 = random_outcomes(rng, 90), random_outcomes(rng, 90)
    dd = difference_of_differences(([a1], [b1]), ([a2], [b2]), seed=5)
    gain_1, gain_2 = paired_difference(a1, b1), paired_difference(a2, b2)
    for name in ("rank1", "mAP"):
        assert dd.value[name] == pytest.approx(gain_1.value[name] - gain_2.value[name])
    # no gain on the second set: the first set's paired interval, resample for resample
    flat = difference_of_differences(([a1], [b1]), ([a2], [a2]), seed=5)
    assert flat.interval == paired_difference(a1, b1, seed=5).interval
    # the same gain on both sets: zero difference, yet an interval about √2 times as wide
    same = difference_of_differences(([a1], [b1]), ([a1], [b1]), seed=5)
    assert same.value["mAP"] == 0.0
    ratio = np.diff(same.interval["mAP"])[0] / np.diff(gain_1.interval["mAP"])[0]
    assert ratio == pytest.approx(math.sqrt(2), abs=0.25)


def test_query_outcomes_json_round_trip_keeps_skipped_queries():
    outcomes = QueryOutcomes(np.array([0, -1, 4, -1]), np.array([1.0, np.nan, 1 / 3, np.nan]))
    record = json.loads(json.dumps(outcomes.to_json()))
    assert record == {
        "first_match_rank": [0, -1, 4, -1],
        "average_precision": [1.0, None, 1 / 3, None],
    }
    back = QueryOutcomes.from_json(record)
    np.testing.assert_array_equal(back.first_match_rank, outcomes.first_match_rank)
    np.testing.assert_array_equal(back.average_precision, outcomes.average_precision)  # NaN == NaN
    assert back.first_match_rank.dtype == np.int64 and back.metrics() == outcomes.metrics()


def test_query_outcomes_reject_inconsistent_input():
    with pytest.raises(
        ValueError, match=r"query 1: first_match_rank -1 but average_precision 0\.5"
    ):
        QueryOutcomes(np.array([0, -1]), np.array([1.0, 0.5]))
    with pytest.raises(ValueError, match=r"shapes \(3,\) and \(2,\)"):
        QueryOutcomes(np.array([0, 1, 2]), np.array([1.0, 0.5]))
    with pytest.raises(ValueError, match="none of the 2 queries is valid"):
        bootstrap_ci(QueryOutcomes(np.array([-1, -1]), np.array([np.nan, np.nan])))
    with pytest.raises(ValueError, match="ranks must be >= 1"):
        outcomes_at(0.5, n=4).metrics(ranks=(0,))
    with pytest.raises(ValueError, match="level must be in"):
        bootstrap_ci(outcomes_at(0.5, n=4), level=95)
    with pytest.raises(ValueError, match="resamples must be >= 1"):
        bootstrap_ci(outcomes_at(0.5, n=4), resamples=0)


@pytest.mark.parametrize(
    ("interval", "expected", "answer"),
    [
        ((0.1, 2.0), "positive", SAME),
        ((-2.0, -0.1), "positive", OPPOSITE),
        ((-1.0, 1.0), "positive", UNRESOLVED),
        ((0.0, 1.0), "positive", UNRESOLVED),  # touching 0 is not above it
        ((-2.0, -0.1), "negative", SAME),
        ((0.1, 2.0), "negative", OPPOSITE),
        ((-0.5, 0.5), "negative", UNRESOLVED),
        ((-0.5, 0.9), "within", SAME),
        ((1.2, 3.0), "within", OPPOSITE),
        ((-3.0, -1.5), "within", OPPOSITE),
        ((0.5, 1.5), "within", UNRESOLVED),
        ((-3.0, 3.0), "within", UNRESOLVED),
        ((-1.0, 0.5), "within", UNRESOLVED),  # touching the bound is not inside it
    ],
)
def test_verdict_every_branch(interval, expected, answer):
    assert verdict(interval, expected=expected) == answer


def test_verdict_tolerance_and_bad_input():
    assert verdict((1.2, 1.8), expected="within", tolerance=2.0) == SAME
    assert verdict((1.2, 1.8), expected="within", tolerance=1.0) == OPPOSITE
    with pytest.raises(ValueError, match="tolerance must be > 0"):
        verdict((0.1, 0.2), expected="within", tolerance=0.0)
    with pytest.raises(ValueError, match="expected must be"):
        verdict((0.1, 1.0), expected="up")
    with pytest.raises(ValueError, match=r"lo <= hi, got \(2.0, 1.0\)"):
        verdict((2.0, 1.0), expected="positive")


def test_format_interval():
    assert format_interval(20.94, (15.2, 26.71)) == "20.9 [15.2, 26.7]"
    assert format_interval(-0.333, (-1.0, 0.5), digits=2) == "-0.33 [-1.00, 0.50]"


def test_claims_cover_the_tables_and_agree_with_the_paper_numbers():
    counts = {t: len(claims_for(t)) for t in ("I", "III", "IV", "V")}
    assert counts == {"I": 3, "III": 4, "IV": 4, "V": 1}  # Table I has no MARS mAP
    assert len(CLAIMS) == sum(counts.values())
    for claim in CLAIMS:
        rows = getattr(paper, f"TABLE_{claim.table}")
        for d in claim.datasets:
            assert rows[claim.baseline][d][claim.metric] is not None, claim
            assert rows[claim.setting][d][claim.metric] is not None, claim
        point = (claim.paper_difference, claim.paper_difference)
        assert verdict(point, expected=claim.expected, tolerance=claim.tolerance) == SAME, claim
    [transfer] = claims_for("V")
    v = paper.TABLE_V
    gain_ilids = v["MARS"]["ilidsvid"]["rank1"] - v["ImageNet"]["ilidsvid"]["rank1"]
    gain_prid = v["MARS"]["prid2011"]["rank1"] - v["ImageNet"]["prid2011"]["rank1"]
    assert transfer.paper_difference == pytest.approx(gain_ilids - gain_prid)  # 8.00 − 0.03
    assert [c.metric for c in claims_for("III", dataset="mars")] == ["rank1", "mAP"]
    with pytest.raises(ValueError, match="Unknown table 'II'"):
        claims_for("II")


def test_claims_read_their_numbers_from_reidlib_paper(monkeypatch):
    [claim] = [c for c in claims_for("III", dataset="mars") if c.metric == "mAP"]
    assert claim.paper_difference == pytest.approx(83.9 - 82.71)
    monkeypatch.setitem(paper.TABLE_III["T=8"]["mars"], "mAP", 85.0)
    assert claim.paper_difference == pytest.approx(83.9 - 85.0)
    assert claims.paper is paper


def test_claim_report_is_one_computed_line():
    claim = Claim(
        table="IV",
        description="B=36 vs B=32 differs by under 1 point",
        baseline="B=32 (C=8, K=4)",
        setting="B=36 (C=6, K=6)",
        datasets=("mars",),
        metric="rank1",
        expected="within",
    )
    resolved = Difference(value={"rank1": 0.25}, interval={"rank1": (-0.5, 0.75)})
    assert claim.judge(resolved) == SAME
    assert claim.report(resolved) == (
        "Table IV, mars rank1: B=36 vs B=32 differs by under 1 point: "
        "paper +0.60, ours +0.2 [-0.5, +0.8] -> same direction as the paper"
    )
    wide = Difference(value={"rank1": 0.25}, interval={"rank1": (-4.0, 4.5)})
    assert claim.report(wide).endswith("-> not resolved at this scale")


def test_all_resamples_come_from_one_index_matrix(monkeypatch):
    """Vectorised: one draw of a `(resamples, n)` index matrix, no draw per resample."""
    draws = []
    real = np.random.default_rng

    class Recorder:
        def __init__(self, seed):
            self.rng = real(seed)

        def integers(self, low, high, size):
            draws.append((low, high, size))
            return self.rng.integers(low, high, size=size)

    monkeypatch.setattr(np.random, "default_rng", Recorder)
    outcomes = outcomes_at(0.3)
    ci = bootstrap_ci(outcomes, resamples=2000)
    assert draws == [(0, 300, (2000, 300)), (0, 1, (2000, 1))]  # the queries, then the seed
    paired_difference(outcomes, outcomes, resamples=2000)
    assert draws[2:] == [(0, 300, (2000, 300)), (0, 1, (2000, 1)), (0, 1, (2000, 1))]
    monkeypatch.undo()
    assert ci == bootstrap_ci(outcomes, resamples=2000)  # the recorder drew the same indices


def test_two_level_interval_adds_the_spread_over_seeds():
    """Two seeds that disagree completely on the same queries: every query scores 50 % on
    average, so resampling queries alone gives no width; resampling the seeds as well spans
    one seed's 0 % to the other's 100 %."""
    n = 200
    hit = QueryOutcomes(np.zeros(n, dtype=np.int64), np.ones(n))  # every query right at rank 1
    miss = QueryOutcomes(np.full(n, 5), np.full(n, 0.2))  # every query's first match at rank 6
    assert seed_query_ci([hit, miss], ranks=(1,))["rank1"] == (0.0, 100.0)
    mean_of_queries = QueryOutcomes(np.zeros(n, dtype=np.int64), np.full(n, 0.6))
    assert seed_query_ci([mean_of_queries], ranks=(1,))["mAP"] == pytest.approx((60.0, 60.0))
    assert seed_query_ci([hit, miss], ranks=(1,))["mAP"] == pytest.approx((20.0, 100.0))


def test_two_level_interval_of_identical_seeds_is_the_query_interval():
    outcomes = outcomes_at(0.3)
    three = seed_query_ci([outcomes, outcomes, outcomes])
    for name, interval in bootstrap_ci(outcomes).items():
        assert three[name] == pytest.approx(interval)


def test_two_level_difference_averages_each_setting_over_its_seeds():
    rng = np.random.default_rng(7)
    a = [random_outcomes(rng, 150) for _ in range(2)]
    b = [random_outcomes(rng, 150) for _ in range(3)]
    diff = seed_query_difference(a, b, ranks=(1,))
    mean_a = np.mean([run.metrics(ranks=(1,))["mAP"] for run in a])
    mean_b = np.mean([run.metrics(ranks=(1,))["mAP"] for run in b])
    assert diff.value["mAP"] == pytest.approx(mean_b - mean_a)
    lo, hi = diff.interval["mAP"]
    assert lo < diff.value["mAP"] < hi
    same = seed_query_difference(b, b, ranks=(1,))
    assert same.value["mAP"] == 0.0
    assert same.interval["mAP"][0] < 0 < same.interval["mAP"][1]  # seeds redrawn per setting


def test_two_level_runs_must_share_their_queries():
    a = QueryOutcomes(np.array([0, 1, 2, 3]), np.array([1.0, 0.5, 0.3, 0.2]))
    skipped = QueryOutcomes(np.array([0, 1, -1, 3]), np.array([1.0, 0.5, np.nan, 0.2]))
    with pytest.raises(ValueError, match="run 1 scores other queries than run 0"):
        seed_query_ci([a, skipped])
    with pytest.raises(ValueError, match="at least one run"):
        seed_query_ci([])
