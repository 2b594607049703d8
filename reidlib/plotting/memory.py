"""Memory comparison of Table II: counted by torchsummary's rule and measured."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from reidlib.plotting.save import save_figure


def plot_memory_bars(
    values: Mapping[str, Mapping[str, float | None]],
    *,
    ylabel: str = "MB",
    title: str | None = None,
    log: bool = False,
    out: Path | None = None,
) -> Figure:
    """Grouped bars: one group per network, one bar per quantity, each labelled with its value.

    Args:
        values: network -> quantity -> MB; a missing or None quantity leaves a gap.
        ylabel: y-axis label.
        title: axes title.
        log: log-scale y axis (for values spanning orders of magnitude).
        out: if given, the PNG is saved there.

    Returns:
        The figure; bar container i holds quantity i (in first-seen order) across the networks.
    """
    groups = list(values)
    quantities = list(dict.fromkeys(q for v in values.values() for q in v))
    fig = Figure(figsize=(min(11.0, 3.2 + 1.25 * len(groups) * max(1, len(quantities)) / 2), 3.8))
    fig.set_layout_engine("constrained")
    ax = fig.subplots()
    width = 0.8 / max(1, len(quantities))
    x = np.arange(len(groups))
    for i, quantity in enumerate(quantities):
        heights = [values[g].get(quantity) for g in groups]
        heights = [np.nan if h is None else float(h) for h in heights]
        bars = ax.bar(x + (i - (len(quantities) - 1) / 2) * width, heights, width, label=quantity)
        ax.bar_label(bars, fmt="%.0f", fontsize=8, padding=1)
    ax.set_xticks(x, groups, fontsize=8)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.margins(y=0.12)
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return save_figure(fig, out)


def plot_memory_curves(
    curves: Mapping[str, Mapping[int, float]],
    *,
    xlabel: str = "frames per clip T",
    ylabel: str = "MB",
    title: str | None = None,
    out: Path | None = None,
) -> Figure:
    """Memory against a setting (e.g. T), one line per (network, quantity).

    Args:
        curves: label -> {setting: MB}.
        xlabel: what the setting is.
        ylabel: y-axis label.
        title: axes title.
        out: if given, the PNG is saved there.

    Returns:
        The figure; line i holds curve i.
    """
    fig = Figure(figsize=(5.8, 3.4), layout="constrained")
    ax = fig.subplots()
    markers = "osD^v"
    for i, (label, points) in enumerate(curves.items()):
        xs = sorted(points)
        style = "--" if "rule" in label else "-"
        marker = markers[i % len(markers)]
        ax.plot(xs, [points[x] for x in xs], style, marker=marker, ms=7 - i, label=label)
    ax.set_xticks(sorted({x for p in curves.values() for x in p}))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return save_figure(fig, out)
