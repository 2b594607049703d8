"""What notebooks write and show: a run's record and its `metrics.json` entry, intervals beside
every number, splits pooled as the literature reports them, verdicts computed from intervals,
no absolute path in a written file, the checked configuration."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from reidlib.claims import Verdict, check_claims
from reidlib.config import RunConfig, load_profile, parse_splits
from reidlib.evaluation import QueryOutcomes
from reidlib.plotting import plot_metrics, plot_paper_vs_ours
from reidlib.records import (
    RunResult,
    SettingSummary,
    TableRow,
    ci95,
    pool_outcomes,
    run_result,
    summarize,
)
from reidlib.results import (
    metric_rows,
    paper_rows,
    paper_vs_ours,
    show_intervals,
    show_number,
    show_verdicts,
    write_metrics,
    write_table,
)


def outcomes(first: list[int], ap: list[float]) -> QueryOutcomes:
    return QueryOutcomes(np.array(first), np.array(ap, dtype=float))


def result(**changes) -> RunResult:
    """A run of T=4 on PRID2011 split 0: rank-1 50, mAP 60."""
    values = {
        "setting": "T=4", "dataset": "prid2011", "split": 0, "seed": 0, "epochs": 8,
        "init": "synthetic pre-training", "rank1": 50.0, "rank5": 70.0, "rank10": 80.0,
        "rank20": 90.0, "mAP": 60.0, "chance_rank1": 5.0, "num_valid_queries": 19,
        "ci95": {"rank1": (30.0, 70.0), "mAP": (45.0, 75.0)}, "train_seconds": 7.5,
        "profile": "quick", "digest": "ab3ccba83609", "run_dir": "runs/prid2011-ab3ccba83609",
    }  # fmt: skip
    return RunResult(**{**values, **changes})


def test_ci95_is_the_bootstrap_interval_of_rank1_and_map_over_valid_queries():
    # two valid queries, one at rank 1 (AP 1) and one at rank 2 (AP 0.5): a resample holds
    # none, one or both at rank 1, so rank-1 spans 0-100 and mAP 50-100; the skipped query
    # (first match -1) counts for nothing
    expected = {"rank1": (0.0, 100.0), "mAP": (50.0, 100.0)}
    assert ci95([outcomes([0, 1], [1.0, 0.5])]) == expected
    assert ci95([outcomes([0, 1, -1], [1.0, 0.5, np.nan])]) == expected
    assert ci95([outcomes([3, 3], [0.25, 0.25])]) == {"rank1": (0.0, 0.0), "mAP": (25.0, 25.0)}


def fake_trainer(tmp_path, cfg: RunConfig):
    """A finished run as `run_result` reads it: configuration, epoch log, folder."""
    queries = outcomes([0, 0, 0], [1.0, 1.0, 1.0]).to_json()
    history = [
        {"epoch": 1, "train_seconds": 2.04},
        {"epoch": 2, "train_seconds": 2.03, "rank1": 100.0, "rank5": 100.0, "rank10": 100.0,
         "rank20": 100.0, "mAP": 100.0, "chance_rank1": 33.3, "num_valid_queries": 3,
         "queries": queries},
    ]  # fmt: skip
    out = tmp_path / "repo" / "runs" / f"{cfg.data.dataset}-{cfg.digest()}"
    return SimpleNamespace(cfg=cfg, history=history, out_dir=out)


def test_run_result_reports_the_last_evaluation_and_where_the_run_lives(tmp_path):
    cfg = load_profile("quick", dataset="prid2011").with_overrides(
        data={"split_id": 3}, train={"seed": 7}
    )
    trainer = fake_trainer(tmp_path, cfg)
    run = run_result(trainer, setting="T=4", profile="quick", repo=tmp_path / "repo")
    assert (run.setting, run.dataset, run.split, run.seed, run.epochs) == (
        "T=4",
        "prid2011",
        3,
        7,
        2,
    )
    assert run.init == "synthetic pre-training" and run.profile == "quick"
    assert (run.rank1, run.mAP, run.num_valid_queries, run.chance_rank1) == (100.0, 100.0, 3, 33.3)
    assert run.ci95 == {"rank1": (100.0, 100.0), "mAP": (100.0, 100.0)}
    assert run.train_seconds == 4.1  # 2.04 + 2.03, rounded
    assert run.run_dir == f"runs/prid2011-{cfg.digest()}" and run.digest == cfg.digest()
    # a run folder outside the repository is still recorded relative to it
    outside = run_result(trainer, setting="T=4", profile="quick", repo=tmp_path / "repo" / "nb")
    assert outside.run_dir == f"../runs/prid2011-{cfg.digest()}"
    trainer.history = trainer.history[:1]
    with pytest.raises(ValueError, match="the run has no evaluation yet"):
        run_result(trainer, setting="T=4", profile="quick", repo=tmp_path)


def test_a_run_result_refuses_an_absolute_folder():
    for path in ("/work/x/runs/mars-1", "C:\\runs\\mars-1", "~/runs/mars-1"):
        with pytest.raises(ValueError, match="expected a folder relative to the repository"):
            result(run_dir=path)


def test_to_json_keeps_the_keys_the_readme_and_tests_read():
    entry = result(attention={"erased": 0.1}).to_json()
    assert list(entry) == [
        "setting", "dataset", "split", "seed", "epochs", "init", "rank1", "rank5", "rank10",
        "rank20", "mAP", "chance_rank1", "num_valid_queries", "ci95", "train_seconds",
        "profile", "digest", "run_dir", "attention",
    ]  # fmt: skip
    assert entry["ci95"] == {"rank1": [30.0, 70.0], "mAP": [45.0, 75.0]}
    assert entry["run_dir"] == "runs/prid2011-ab3ccba83609" and entry["rank20"] == 90.0
    assert "attention" not in result().to_json()  # only where a run has one
    with pytest.raises(ValueError, match="Unknown metric 'rank2'"):
        result().value("rank2")


def test_summarize_reports_the_mean_and_std_over_splits_and_a_pooled_interval():
    records = [
        result(split=s, rank1=r, rank5=r, rank10=r, rank20=r, mAP=m)
        for s, r, m in ((0, 50.0, 60.0), (1, 70.0, 80.0), (2, 60.0, 70.0))
    ]
    scored = [outcomes([0], [1.0]), outcomes([1], [0.5]), outcomes([-1], [np.nan])]
    summary = summarize(records, scored)
    assert summary.splits == (0, 1, 2) and summary.init == "synthetic pre-training"
    assert summary.mean["rank1"] == pytest.approx(60.0) and summary.std["rank1"] == pytest.approx(
        10.0
    )
    assert summary.mean["mAP"] == pytest.approx(70.0) and summary.std["mAP"] == pytest.approx(10.0)
    # the pooled queries: one at rank 1, one at rank 2, one skipped (as in the ci95 test)
    assert summary.ci95 == {"rank1": (0.0, 100.0), "mAP": (50.0, 100.0)}
    entry = summary.to_json()
    assert entry["splits"] == [0, 1, 2] and entry["rank1_std"] == pytest.approx(10.0)
    assert list(entry)[:9] == [
        "setting",
        "dataset",
        "splits",
        "seeds",
        "epochs",
        "init",
        "rank1",
        "rank1_std",
        "rank1_seeds",
    ]
    one = summarize(records[:1], scored[:1])
    assert one.std["rank1"] == 0.0 and one.mean["rank1"] == 50.0
    with pytest.raises(ValueError, match="expected runs of 'T=4' on prid2011 only"):
        summarize([records[0], result(setting="T=8")], scored[:2])


def test_summarize_keeps_each_seed_and_resamples_seeds_with_queries():
    # two splits × two seeds; seed 1 scores 20 points more on each split
    values = {(0, 0): 50.0, (1, 0): 60.0, (0, 1): 70.0, (1, 1): 80.0}
    records = [
        result(split=sp, seed=se, rank1=v, rank5=v, rank10=v, rank20=v, mAP=v)
        for (sp, se), v in values.items()
    ]
    hit, miss = outcomes([0, 0], [1.0, 1.0]), outcomes([4, 4], [0.2, 0.2])
    scored = [miss, miss, hit, hit]  # seed 0's queries all missed, seed 1's all hit
    summary = summarize(records, scored)
    assert summary.splits == (0, 1) and summary.seeds == (0, 1)
    assert summary.mean["rank1"] == pytest.approx(65.0)
    assert summary.seed_values["rank1"] == pytest.approx((55.0, 75.0))
    assert summary.std["rank1"] == pytest.approx(np.std([60.0, 70.0], ddof=1))  # over splits
    # the queries alone would give no width; the seeds give 0-100 on the pooled queries
    assert summary.ci95["rank1"] == (0.0, 100.0)
    assert summary.to_json()["mAP_seeds"] == pytest.approx([55.0, 75.0])
    with pytest.raises(ValueError, match="expected one run per split"):
        summarize(records[:3], scored[:3])


def test_pool_outcomes_keeps_every_query_in_split_order():
    pooled = pool_outcomes([outcomes([0, 1], [1.0, 0.5]), outcomes([0, 0, 2], [1.0, 1.0, 1 / 3])])
    assert pooled.first_match_rank.tolist() == [0, 1, 0, 0, 2]
    assert pooled.metrics(ranks=(1,))["rank1"] == pytest.approx(60.0)  # 3 of 5 at rank 1


def summary_of(setting: str, dataset: str, splits: tuple[int, ...]) -> SettingSummary:
    return SettingSummary(
        setting=setting, dataset=dataset, splits=splits, seeds=(0,), epochs=8, init="transfer",
        mean={"rank1": 61.0, "mAP": 70.0}, std={"rank1": 2.0, "mAP": 3.0},
        seed_values={"rank1": (61.0,), "mAP": (70.0,)},
        ci95={"rank1": (50.0, 72.0), "mAP": (60.0, 80.0)},
    )  # fmt: skip


def test_paper_rows_label_the_splits_and_keep_the_papers_metrics():
    paper = {"T=4": {"mars": {"rank1": 89.02, "mAP": 83.9}, "prid2011": {"rank1": 96.6}}}
    rows = paper_rows(
        paper,
        [
            summary_of("T=4", "mars", (0,)),
            summary_of("T=4", "prid2011", (0, 1, 2)),
            summary_of("T=4", "prid2011", (0, 3)),
        ],
    )
    assert rows == [
        TableRow(setting="T=4 (mars)", metric="rank1", paper=89.02, ours=61.0,
                 ci95=(50.0, 72.0), init="transfer", dataset="mars"),
        TableRow(setting="T=4 (mars)", metric="mAP", paper=83.9, ours=70.0,
                 ci95=(60.0, 80.0), init="transfer", dataset="mars"),
        TableRow(setting="T=4 (prid2011, splits 0-2, mean)", metric="rank1", paper=96.6,
                 ours=61.0, ci95=(50.0, 72.0), init="transfer", dataset="prid2011"),
        TableRow(setting="T=4 (prid2011, splits 0, 3, mean)", metric="rank1", paper=96.6,
                 ours=61.0, ci95=(50.0, 72.0), init="transfer", dataset="prid2011"),
    ]  # fmt: skip


def test_paper_vs_ours_keeps_interval_bounds_as_numbers_and_shows_value_lo_hi():
    rows = [
        TableRow(setting="T=4 (mars)", metric="rank1", paper=89.02, ours=41.234,
                 ci95=(35.0, 47.5), init="random init"),
        TableRow(setting="T=4 (mars)", metric="ratio", paper=None, ours=1.5),
    ]  # fmt: skip
    table = paper_vs_ours(rows, profile="quick", device="cpu", dataset="mars")
    assert table.loc[0, ["ours", "ci95_low", "ci95_high"]].tolist() == [41.23, 35.0, 47.5]
    assert pd.isna(table.loc[1, "ci95_low"]) and pd.isna(table.loc[1, "init"])
    assert table["dataset"].tolist() == ["mars", "mars"]
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
    untrained = paper_vs_ours(rows[1:], profile="quick", device="cpu", dataset="mars")
    assert "init" not in untrained.columns  # no trained run among the rows


def test_plot_metrics_draws_each_evaluation_with_its_interval():
    queries = outcomes([0, 1], [1.0, 0.5]).to_json()  # rank-1 50, interval 0-100 (above)
    history = [{"epoch": 8, "rank1": 50.0, "mAP": 75.0, "queries": queries}]
    fig = plot_metrics({"base": history}, baselines={"raw pixels": {"rank1": 20.0, "mAP": 30.0,
                       "ci95": {"rank1": [10.0, 30.0], "mAP": [20.0, 40.0]}}})  # fmt: skip
    (_, caps, _) = fig.axes[0].containers[0].lines
    assert sorted(float(c.get_ydata()[0]) for c in caps) == [0.0, 100.0]
    band = [p for p in fig.axes[0].patches]  # the raw-pixel interval as a band
    assert len(band) == 1


def test_numbers_read_without_trailing_zeros_and_empty_cells_as_a_dash():
    assert [show_number(v) for v in (1261.0, 9.19, 7.060435, 0.478, None, float("nan"))] == [
        "1261", "9.19", "7.06", "0.48", "–", "–",
    ]  # fmt: skip


def test_metric_rows_carry_interval_init_dataset_and_the_papers_cell():
    entry = {"rank1": 20.0, "mAP": 30.0, "ci95": {"rank1": [10.0, 30.0], "mAP": [25.0, 35.0]},
             "init": "random init", "dataset": "prid2011"}  # fmt: skip
    rows = metric_rows("base", entry, paper={"rank1": 96.6})
    assert rows == [
        TableRow(setting="base", metric="rank1", paper=96.6, ours=20.0, ci95=(10.0, 30.0),
                 init="random init", dataset="prid2011"),
        TableRow(setting="base", metric="mAP", paper=None, ours=30.0, ci95=(25.0, 35.0),
                 init="random init", dataset="prid2011"),
    ]  # fmt: skip
    table = paper_vs_ours(rows, profile="quick", device="cpu", dataset="mars")
    assert table["dataset"].tolist() == ["prid2011", "prid2011"]  # each row's own dataset
    [rank5] = metric_rows("run", result(), metrics=("rank5",))  # a RunResult: no interval
    assert (rank5.ours, rank5.ci95, rank5.init) == (70.0, None, "synthetic pre-training")


def test_write_metrics_writes_records_as_their_json_and_refuses_absolute_paths(tmp_path):
    summary = summary_of("T=4", "prid2011", (0, 1))
    written = write_metrics(
        tmp_path, profile="quick", device="cpu", seed=0, dataset="mars", runs=[result()],
        started=0.0, summaries=[summary], run_dir="runs/prid2011-ab3ccba83609",
    )  # fmt: skip
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    assert on_disk == written
    assert on_disk["runs"] == [json.loads(json.dumps(result().to_json()))]
    assert on_disk["summaries"][0]["rank1_std"] == 2.0
    with pytest.raises(ValueError, match="'/work/x/runs' is an absolute path"):
        write_metrics(tmp_path, profile="quick", device="cpu", seed=0, dataset="mars", runs=[],
                      started=0.0, run_dir="/work/x/runs")  # fmt: skip
    table = pd.DataFrame({"setting": ["data.root"], "this run": ["/work/x/data/mars"]})
    with pytest.raises(ValueError, match=r"settings\.csv: '/work/x/data/mars' is an absolute"):
        write_table(table, tmp_path / "settings.csv")
    assert not (tmp_path / "settings.csv").exists()


def test_check_claims_judges_from_the_interval():
    # IBN-a clearly above R50 on 40 queries: every IBN-a query at rank 1, R50 at rank 3
    r50 = outcomes([2] * 40, [1 / 3] * 40)
    ibn = outcomes([0] * 40, [1.0] * 40)
    verdicts = check_claims("I", {("resnet50", "mars"): [r50], ("resnet50_ibn_a", "mars"): [ibn]})
    [v] = verdicts
    assert isinstance(v, Verdict) and v.verdict == "same direction as the paper"
    assert v.ours == 100.0 and v.paper == pytest.approx(0.81) and v.ci95 == (100.0, 100.0)
    assert v.to_json()["datasets"] == ["mars"] and v.to_json()["ci95"] == [100.0, 100.0]
    shown = show_verdicts(verdicts).data
    assert shown.loc[0, "ours [95% CI]"] == "+100.0 [+100.0, +100.0]"
    assert v.line.endswith("ours +100.0 [+100.0, +100.0] -> same direction as the paper")
    flipped = check_claims("I", {("resnet50", "mars"): [ibn], ("resnet50_ibn_a", "mars"): [r50]})
    assert flipped[0].verdict == "opposite direction"
    assert check_claims("I", {("resnet50", "mars"): [r50]}) == []  # a row missing: no claim


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
        ("loss", {"center_weight": -5e-4}, "expected a number >= 0 (0 switches the center"),
        ("loss", {"dml_feature": "pre_bn"}, "loss.dml_feature='pre_bn': expected one of 'bnneck'"),
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


def test_a_table_with_empty_cells_is_written(tmp_path):
    table = pd.DataFrame({"setting": ["a", "b"], "paper": [float("nan"), 1.5]})
    written = write_table(table, tmp_path / "t.csv")
    assert written is table and (tmp_path / "t.csv").read_text().splitlines()[1] == "a,"
    with pytest.raises(ValueError, match="is an absolute path"):
        write_table(pd.DataFrame({"run_dir": ["/home/x/runs/a"]}), tmp_path / "u.csv")
