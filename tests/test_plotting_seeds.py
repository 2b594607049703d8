"""Figures of settings over seeds and of the attention's health."""

from __future__ import annotations

import numpy as np

from reidlib.plotting import plot_attention_health, plot_seed_spread
from reidlib.records import RunResult, SettingSummary


def run(seed: int, rank1: float, attention=None) -> RunResult:
    return RunResult(
        setting="recipe", dataset="mars", split=0, seed=seed, epochs=8, init="synthetic",
        rank1=rank1, rank5=0.0, rank10=0.0, rank20=0.0, mAP=rank1 / 2, chance_rank1=1.0,
        num_valid_queries=300, ci95={"rank1": (rank1 - 5, rank1 + 5), "mAP": (0.0, 50.0)},
        train_seconds=1.0, profile="quick", digest="d", run_dir="runs/mars-d",
        attention=attention,
    )  # fmt: skip


def test_seed_spread_draws_each_seed_and_the_mean_with_its_interval():
    runs = [run(0, 20.0), run(1, 30.0)]
    summary = SettingSummary(
        setting="recipe", dataset="mars", splits=(0,), seeds=(0, 1), epochs=8, init="synthetic",
        mean={"rank1": 25.0, "mAP": 12.5}, std={"rank1": 0.0, "mAP": 0.0},
        seed_values={"rank1": (20.0, 30.0), "mAP": (10.0, 15.0)},
        ci95={"rank1": (14.0, 36.0), "mAP": (5.0, 20.0)},
    )  # fmt: skip
    fig = plot_seed_spread([summary], runs, metrics=("rank1",))
    lines = fig.axes[0].get_lines()
    xs = [tuple(line.get_xdata()) for line in lines if len(line.get_xdata())]
    assert (15.0, 25.0) in xs and (25.0, 35.0) in xs  # each seed's interval over queries
    assert (20.0,) in xs and (30.0,) in xs and (25.0,) in xs  # the seeds and their mean
    assert (14.0, 36.0) in xs  # the interval over seeds and queries


def test_attention_health_says_where_there_is_nothing_to_draw():
    alive = {"dead_fraction": 0.5, "entropy": 0.8, "erased_weight": 0.2, "clean_weight": 0.3}
    pooling = {"dead_fraction": None, "entropy": 1.0, "erased_weight": None, "clean_weight": 0.25}
    fig = plot_attention_health([run(0, 20.0, alive), run(1, 30.0, pooling)])
    left, right = fig.axes
    widths = [p.get_width() for p in left.patches]
    assert widths[0] == 0.5 and np.isnan(widths[1])  # dead fractions: 0.5, none
    texts = [t.get_text() for ax in (left, right) for t in ax.texts]
    assert texts == ["none: no attention to die", "none: no frame erased"]
