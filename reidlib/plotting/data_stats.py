"""Dataset statistics: tracklet lengths and per-camera counts (the data notebook)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from reidlib.plotting.save import save_figure


def plot_tracklet_lengths(
    lengths: Mapping[str, Sequence[int]],
    *,
    bins: int = 20,
    out: Path | None = None,
) -> Figure:
    """One histogram of tracklet lengths (frames) per dataset, side by side.

    Args:
        lengths: dataset label -> the length of each of its tracklets.
        bins: bins per histogram, spread over that dataset's range.
        out: if given, the PNG is saved there.

    Returns:
        The figure; each panel's bars count every tracklet once.
    """
    fig = Figure(figsize=(3.4 * len(lengths), 2.9), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(lengths)))
    for ax, (label, values) in zip(axes, lengths.items()):
        values = np.asarray(values)
        edges = np.linspace(values.min(), values.max() + 1, bins + 1)
        ax.hist(values, bins=edges, color="tab:blue", edgecolor="white", linewidth=0.4)
        ax.axvline(np.median(values), color="black", lw=0.8, ls="--")
        ax.set_title(
            f"{label}: {len(values)} tracklets, {values.min()}–{values.max()} frames "
            f"(median {np.median(values):g})",
            fontsize=8,
        )
        ax.set_xlabel("frames per tracklet")
    axes[0].set_ylabel("tracklets")
    return save_figure(fig, out)


def plot_camera_counts(counts: Mapping[str, pd.DataFrame], *, out: Path | None = None) -> Figure:
    """Identities and tracklets seen by each camera, one panel per dataset.

    Args:
        counts: dataset label -> a table indexed by camid with `ids` and `tracklets` columns
            (`reidlib.data.stats.camera_counts`).
        out: if given, the PNG is saved there.

    Returns:
        The figure; in each panel the first bar container holds `ids`, the second `tracklets`.
    """
    fig = Figure(figsize=(3.4 * len(counts), 2.9), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(counts)))
    width = 0.4
    for ax, (label, table) in zip(axes, counts.items()):
        x = np.arange(len(table))
        for offset, column, colour in (
            (-width / 2, "ids", "tab:orange"),
            (width / 2, "tracklets", "tab:blue"),
        ):
            bars = ax.bar(x + offset, table[column].to_numpy(), width, label=column, color=colour)
            ax.bar_label(bars, fontsize=8, padding=1)
        ax.set_xticks(x, [f"cam {c}" for c in table.index])
        ax.set_title(label, fontsize=9)
        ax.margins(y=0.15)
    axes[0].legend(fontsize=7)
    return save_figure(fig, out)
