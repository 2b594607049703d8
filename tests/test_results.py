"""What notebooks write and show: intervals beside every number, splits pooled as the
literature reports them, verdicts computed from intervals, the checked configuration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reidlib.claims import check_claims
from reidlib.config import RunConfig, load_profile, parse_splits
from reidlib.evaluation import QueryOutcomes, bootstrap_ci
from reidlib.plotting import plot_metrics, plot_paper_vs_ours
from reidlib.results import (
    ci95,
    metric_rows,
    paper_vs_ours,
    pool_outcomes,
    pool_splits,
    show_intervals,
    show_number,
    show_verdicts,
)


def outcomes(first: list[int], ap: list[float]) -> QueryOutcomes:
    return QueryOutcomes(np.array(first), np.array(ap, dtype=float))


def test_ci95_is_the_bootstrap_interval_of_rank1_and_map_in_percent():
    o = outcomes([0, 1, 0, 3, -1, 0], [1.0, 0.5, 1.0, 0.25, np.nan, 1.0])
    got = ci95(o)
    full = bootstrap_ci(o, ranks=(1,))
    assert got == {k: [round(full[k][0], 2), round(full[k][1], 2)] for k in ("rank1", "mAP")}
    assert got["rank1"][0] <= 60.0 <= got["rank1"][1]  # 3 of 5 valid queries at rank 1


def test_pool_splits_reports_the_mean_and_std_over_splits_and_a_pooled_interval():
    records = [
        {"setting": "T=4", "dataset": "prid2011", "split": s, "epochs": 8, "init": "random init",
         "rank1": r, "rank5": r, "rank10": r, "rank20": r, "mAP": m}
        for s, r, m in ((0, 50.0, 60.0), (1, 70.0, 80.0), (2, 60.0, 70.0))
    ]  # fmt: skip
    scored = [outcomes([0, 1], [1.0, 0.5]), outcomes([0, 0], [1.0, 1.0]), outcomes([1], [0.5])]
    summary = pool_splits(records, scored)
    assert summary["splits"] == [0, 1, 2]
    assert summary["rank1"] == pytest.approx(60.0) and summary["rank1_std"] == pytest.approx(10.0)
    assert summary["mAP"] == pytest.approx(70.0) and summary["mAP_std"] == pytest.approx(10.0)
    pooled = pool_outcomes(scored)  # 5 queries, 3 at rank 1
    assert pooled.metrics(ranks=(1,))["rank1"] == pytest.approx(60.0)
    assert summary["ci95"] == ci95(pooled)


def test_paper_vs_ours_keeps_interval_bounds_as_numbers_and_shows_value_lo_hi():
    rows = [
        {"setting": "T=4 (mars)", "metric": "rank1", "paper": 89.02, "ours": 41.234,
         "ci95": [35.0, 47.5], "init": "random init"},
        {"setting": "T=4 (mars)", "metric": "ratio", "paper": None, "ours": 1.5},
    ]  # fmt: skip
    table = paper_vs_ours(rows, profile="quick", device="cpu", dataset="mars")
    assert table.loc[0, ["ours", "ci95_low", "ci95_high"]].tolist() == [41.23, 35.0, 47.5]
    assert pd.isna(table.loc[1, "ci95_low"]) and pd.isna(table.loc[1, "init"])
    shown = show_intervals(table)
    assert shown.data["ours [95% CI]"].tolist() == ["41.2 [35.0, 47.5]", "1.5"]
    html = shown.to_html()
    assert "<td" in html and ">–<" in html and "quick profile · CPU" in html  # empty paper cell
    assert "ci95_low" not in html and "1.500000" not in html
    fig = plot_paper_vs_ours(table)
    ours = [c for c in fig.axes[0].containers if c.get_label().startswith("ours")]
    (_, caps, _) = ours[0].errorbar.lines  # ours carry the interval as error bars
    assert sorted(float(c.get_ydata()[0]) for c in caps) == [35.0, 47.5]
    assert "random init" in fig.axes[0].get_legend().get_texts()[1].get_text()


def test_plot_metrics_draws_each_evaluation_with_its_interval():
    queries = outcomes([0, 0, 1, 2], [1.0, 1.0, 0.5, 1 / 3]).to_json()
    history = [{"epoch": 8, "rank1": 50.0, "mAP": 70.8, "queries": queries}]
    fig = plot_metrics({"base": history}, baselines={"raw pixels": {"rank1": 20.0, "mAP": 30.0,
                       "ci95": {"rank1": [10.0, 30.0], "mAP": [20.0, 40.0]}}})  # fmt: skip
    lo, hi = bootstrap_ci(QueryOutcomes.from_json(queries), ranks=(1,))["rank1"]
    (_, caps, _) = fig.axes[0].containers[0].lines
    assert sorted(float(c.get_ydata()[0]) for c in caps) == pytest.approx([lo, hi])
    band = [p for p in fig.axes[0].patches]  # the raw-pixel interval as a band
    assert len(band) == 1


def test_numbers_read_without_trailing_zeros_and_empty_cells_as_a_dash():
    assert [show_number(v) for v in (1261.0, 9.19, 7.060435, 0.478, None, float("nan"))] == [
        "1261", "9.19", "7.06", "0.48", "–", "–",
    ]  # fmt: skip


def test_metric_rows_carry_interval_init_dataset_and_the_papers_cell():
    record = {"rank1": 20.0, "mAP": 30.0, "ci95": {"rank1": [10.0, 30.0], "mAP": [25.0, 35.0]},
              "init": "random init", "dataset": "prid2011"}  # fmt: skip
    rows = metric_rows("base", record, paper={"rank1": 96.6})
    assert rows == [
        {"setting": "base", "metric": "rank1", "paper": 96.6, "ours": 20.0, "ci95": [10.0, 30.0],
         "init": "random init", "dataset": "prid2011"},
        {"setting": "base", "metric": "mAP", "paper": None, "ours": 30.0, "ci95": [25.0, 35.0],
         "init": "random init", "dataset": "prid2011"},
    ]  # fmt: skip
    table = paper_vs_ours(rows, profile="quick", device="cpu", dataset="mars")
    assert table["dataset"].tolist() == ["prid2011", "prid2011"]  # each row's own dataset


def test_check_claims_judges_from_the_interval():
    # IBN-a clearly above R50 on 40 queries: every IBN-a query at rank 1, R50 at rank 3
    r50 = outcomes([2] * 40, [1 / 3] * 40)
    ibn = outcomes([0] * 40, [1.0] * 40)
    records = check_claims("I", {("resnet50", "mars"): r50, ("resnet50_ibn_a", "mars"): ibn})
    assert [r["verdict"] for r in records] == ["same direction as the paper"]
    assert records[0]["ours"] == 100.0 and records[0]["paper"] == pytest.approx(0.81)
    shown = show_verdicts(records).data
    assert shown.loc[0, "ours [95% CI]"] == "+100.0 [+100.0, +100.0]"
    assert records[0]["line"].endswith(
        "ours +100.0 [+100.0, +100.0] -> same direction as the paper"
    )
    flipped = check_claims("I", {("resnet50", "mars"): ibn, ("resnet50_ibn_a", "mars"): r50})
    assert flipped[0]["verdict"] == "opposite direction"
    assert check_claims("I", {("resnet50", "mars"): r50}) == []  # a row missing: no claim


def test_parse_splits_reads_single_ranges_and_lists():
    assert parse_splits("0") == (0,)
    assert parse_splits("0-9") == tuple(range(10))
    assert parse_splits(" 0, 3,5") == (0, 3, 5)
    for bad in ("", "x", "3-1", "0-10", "1,1"):
        with pytest.raises(ValueError, match=f"splits {bad!r}: expected split ids"):
            parse_splits(bad)


@pytest.mark.parametrize(
    ("section", "values", "message"),
    [
        ("train", {"lr": "abc"}, "train.lr='abc': expected a number"),
        ("train", {"epochs": 0}, "train.epochs=0: expected at least 1 epoch"),
        ("train", {"milestones": [70, 40]}, "increasing positive epochs"),
        ("train", {"precision": "fp16"}, "expected one of 'fp32', 'bf16'"),
        ("data", {"clip_len": 2.5}, "data.clip_len=2.5: expected an integer"),
        ("data", {"random_erasing": "yes"}, "expected true or false"),
        ("data", {"height": 16}, "at least 32"),
        ("model", {"backbone": "resnet18"}, "expected one of 'resnet50', 'resnet50_ibn_a'"),
        ("model", {"weights": 3}, "expected a string or None"),
        ("loss", {"rll_variant": "pml"}, "expected one of 'reference', 'paper'"),
        ("loss", {"center_weight": 0}, "expected a positive number"),
    ],
)
def test_a_bad_setting_fails_when_the_configuration_is_built(section, values, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        RunConfig().with_overrides(**{section: values})


def test_settings_are_coerced_where_the_meaning_is_clear_and_round_trip():
    cfg = RunConfig().with_overrides(
        train={"lr": 1, "milestones": [4, 6]}, data={"test_max_clips": None}
    )
    assert cfg.train.lr == 1.0 and isinstance(cfg.train.lr, float)
    assert cfg.train.milestones == (4, 6) and cfg.data.test_max_clips is None
    assert RunConfig.from_dict(cfg.to_dict()) == cfg
    # where the weights file lies does not change a run; which file it is does
    a = load_profile("full").with_overrides(model={"weights": "/a/resnet50_ibn_a-d9d0bb7b.pth"})
    b = a.with_overrides(model={"weights": "/b/resnet50_ibn_a-d9d0bb7b.pth", "weights_dir": "/b"})
    c = a.with_overrides(model={"weights": "/a/other.pth"})
    assert a.digest() == b.digest() != c.digest()
