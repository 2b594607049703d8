"""Figures of the method's equations on their own (the method tour): Eq. (2)'s forms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from reidlib.plotting.save import save_figure


def plot_lr_schedules(
    schedules: Mapping[str, Sequence[float]],
    *,
    milestones: Sequence[int] = (),
    zoom_epochs: int = 12,
    out: Path | None = None,
) -> Figure:
    """Learning rate per epoch for several forms of a schedule: whole run and warm-up zoom.

    Args:
        schedules: label -> rate of each 0-based epoch (plotted at 1-based epoch e + 1).
        milestones: 1-based epochs of the decays, drawn as dotted lines.
        zoom_epochs: epochs shown in the right-hand (linear-scale) panel.
        out: if given, the PNG is saved there.

    Returns:
        The figure; in each panel line i holds schedule i.
    """
    fig = Figure(figsize=(10, 3.2), layout="constrained")
    whole, zoom = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
    markers, styles = "os^vD", ("-", "--", ":", "-.")
    for i, (label, values) in enumerate(schedules.items()):
        epochs = np.arange(1, len(values) + 1)
        style = styles[i % len(styles)]
        whole.step(epochs, values, where="mid", label=label, lw=2.2 - 0.4 * i, ls=style)
        k = min(zoom_epochs, len(values))
        zoom.plot(epochs[:k], values[:k], marker=markers[i % len(markers)], ms=4, lw=1, label=label)
    for m in milestones:
        whole.axvline(m, color="grey", lw=0.6, ls=":")
    whole.set_yscale("log")
    whole.set_xlabel("epoch E (1-based)")
    whole.set_ylabel("learning rate")
    whole.set_title("whole run (log scale)", fontsize=9)
    zoom.set_xlabel("epoch E (1-based)")
    shown = min(zoom_epochs, max(len(v) for v in schedules.values()))
    zoom.set_title(f"first {shown} epochs (warm-up), linear scale", fontsize=9)
    zoom.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    whole.legend(fontsize=7)
    return save_figure(fig, out)
