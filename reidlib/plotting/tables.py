"""A table's settings side by side: the paper's value and ours, per metric."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from reidlib.plotting.save import save_figure


def plot_paper_vs_ours(table: pd.DataFrame, *, title: str = "", out: Path | None = None) -> Figure:
    """Grouped bars, one panel per metric: the paper's value and ours for each setting.

    Args:
        table: `paper_vs_ours` output (columns setting, metric, paper, ours, ci95_low,
            ci95_high, profile, ...); missing paper values are left out, ours carry their 95%
            interval as error bars.
        title: figure title; the profile and device are appended.
    """
    metrics = list(dict.fromkeys(table["metric"]))
    fig = Figure(figsize=(4.2 * len(metrics) + 1, 3.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(metrics)))
    for ax, metric in zip(axes, metrics):
        rows = table[table["metric"] == metric]
        x = np.arange(len(rows))
        paper = pd.to_numeric(rows["paper"], errors="coerce").to_numpy(float)
        ours = rows["ours"].to_numpy(float)
        ax.bar(x - 0.2, np.nan_to_num(paper), 0.4, label="paper", color="#9e9ac8")
        inits = rows["init"].dropna() if "init" in rows else []
        source = ", ".join([rows["profile"].iloc[0], *dict.fromkeys(inits)])
        low, high = (pd.to_numeric(rows[c], errors="coerce") for c in ("ci95_low", "ci95_high"))
        yerr = np.abs(np.stack([low, high]) - ours)  # NaN where there is no interval
        ax.bar(
            x + 0.2, ours, 0.4, yerr=yerr, capsize=3, label=f"ours ({source}), 95% CI",
            color="#3182bd",
        )  # fmt: skip
        tops = np.fmax(ours, high.to_numpy(float))  # above the interval's cap where it has one
        for xi, value, top in zip(x, ours, tops):
            ax.annotate(f"{value:.1f}", (xi + 0.2, top), ha="center", va="bottom", fontsize=7,
                        xytext=(0, 2), textcoords="offset points")  # fmt: skip
        labels = [textwrap.fill(str(s), 18) for s in rows["setting"]]
        ax.set_xticks(x, labels, fontsize=8)
        ax.set_ylabel(f"{metric} (%)")
        ax.set_ylim(0, 105)
    axes[0].legend(fontsize=7)
    device = table["device"].iloc[0] if "device" in table else ""
    fig.suptitle(f"{title} · {device}".strip(" ·"), fontsize=9)
    return save_figure(fig, out)
