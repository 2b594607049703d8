"""Settings trained over several seeds: each seed's value with its interval over queries, and
the mean with the interval over seeds and queries; and the attention health of each run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from reidlib.plotting.save import save_figure
from reidlib.records import RunResult, SettingSummary

SEED_COLOUR, MEAN_COLOUR = "#9ecae1", "#08519c"


def plot_seed_spread(
    summaries: Sequence[SettingSummary],
    runs: Sequence[RunResult],
    *,
    metrics: Sequence[str] = ("rank1", "mAP"),
    title: str | None = None,
    out: Path | None = None,
) -> Figure:
    """Both sources of uncertainty, one row per setting: each training seed's value with its
    95% interval over queries (light), and the mean over the seeds with the interval that
    resamples seeds and queries together (dark, `SettingSummary.ci95`).

    Args:
        summaries: the settings (`summarize`), top to bottom.
        runs: their runs, one per seed (`RunResult`: value and `ci95` over queries).
        metrics: one panel each.
        title: figure title.
        out: if given, the PNG is saved there.
    """
    fig = Figure(figsize=(5.2 * len(metrics), 0.55 * len(summaries) + 1.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(metrics), sharey=True))
    rows = np.arange(len(summaries))[::-1]  # the first setting on top
    for ax, metric in zip(axes, metrics):
        for y, summary in zip(rows, summaries):
            own = [r for r in runs if (r.setting, r.dataset) == (summary.setting, summary.dataset)]
            offsets = np.linspace(-0.25, -0.1, max(len(own), 1))
            for dy, run in zip(offsets, own):
                lo, hi = run.ci95[metric]
                ax.plot([lo, hi], [y + dy] * 2, color=SEED_COLOUR, linewidth=1.5)
                ax.plot(run.value(metric), y + dy, "o", color=SEED_COLOUR, markersize=4)
            lo, hi = summary.ci95[metric]
            ax.plot([lo, hi], [y + 0.1] * 2, color=MEAN_COLOUR, linewidth=3)
            ax.plot(summary.value(metric), y + 0.1, "D", color=MEAN_COLOUR, markersize=5)
        ax.set_title(f"{metric} (%)", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(rows, [s.setting for s in summaries], fontsize=8)
    axes[0].plot([], [], "o-", color=SEED_COLOUR, label="each seed, 95% interval over queries")
    axes[0].plot([], [], "D-", color=MEAN_COLOUR, label="mean, 95% over seeds and queries")
    fig.legend(fontsize=7, loc="outside lower center", ncols=2)
    if title:
        fig.suptitle(title, fontsize=9)
    return save_figure(fig, out)


def plot_attention_health(
    runs: Sequence[RunResult], *, title: str | None = None, out: Path | None = None
) -> Figure:
    """Each run's attention at its end, one bar group per run: the fraction of training clips
    whose scores are all 0 (dead), the entropy of a_t over log T (1: weights 1/T), and the
    mean a_t of erased and of clean frames (1/T where dead). A run without attention (temporal
    average pooling) has no dead fraction.

    Args:
        runs: finished runs with their `attention` record (`reidlib.evaluation.attention`).
        title: figure title.
        out: if given, the PNG is saved there.
    """
    labels = [f"{r.setting}, seed {r.seed}" for r in runs]
    fig = Figure(figsize=(11, 0.32 * len(runs) + 1.4), layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(runs))[::-1]
    health = [r.attention or {} for r in runs]

    def values(key: str) -> np.ndarray:
        return np.array([np.nan if h.get(key) is None else h[key] for h in health], dtype=float)

    left.barh(y + 0.2, values("dead_fraction"), height=0.4, color="#cb181d", label="dead clips")
    left.barh(y - 0.2, values("entropy"), height=0.4, color="#969696", label="entropy / log T")
    _say_none(left, y + 0.2, values("dead_fraction"), "none: no attention to die")
    left.set_xlim(0, 1.05)
    left.set_yticks(y, labels, fontsize=7)
    left.legend(fontsize=7, loc="lower right")
    left.set_title("dead fraction and entropy (1 = uniform)", fontsize=9)
    right.barh(y + 0.2, values("erased_weight"), height=0.4, color="#fd8d3c", label="erased")
    right.barh(y - 0.2, values("clean_weight"), height=0.4, color="#3182bd", label="clean")
    _say_none(right, y + 0.2, values("erased_weight"), "none: no frame erased")
    right.legend(fontsize=7, loc="lower right")
    right.set_title("mean a_t of erased and clean frames", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=9)
    return save_figure(fig, out)


def _say_none(ax, ys: np.ndarray, values: np.ndarray, text: str) -> None:
    """Writes `text` where a bar has no value, so a missing bar reads as such."""
    for y, value in zip(ys, values):
        if np.isnan(value):
            ax.text(0.005, y, text, va="center", fontsize=7, color="#636363")
