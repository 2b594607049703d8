"""Training curves from a run's epoch log (`history.jsonl` / `Trainer.history`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from reidlib.evaluation import QueryOutcomes, bootstrap_ci
from reidlib.plotting.method import plot_lr_schedules
from reidlib.plotting.save import save_figure

LOSS_TERMS = ("id", "rll", "center", "eatt", "total")
TERM_TITLES = {
    "id": "ID, label smoothing (Eq. 3-4)",
    "rll": "ranked list (Eq. 10)",
    "center": "center (Eq. 11), unweighted",
    "eatt": "erasing-attention (Eq. 12)",
    "total": "total (Eq. 13)",
}


def plot_loss_terms(
    histories: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    title: str | None = None,
    out: Path | None = None,
) -> Figure:
    """One panel per loss term of Eq. (13), epoch mean against epoch, one line per run.

    Args:
        histories: run label -> epoch log records (each with `epoch` and the terms).
        title: figure title (e.g. `NotebookRun.title`: profile, dataset, initialisation).
        out: if given, the PNG is saved there.
    """
    fig = Figure(figsize=(13, 3.1), layout="constrained")
    if title:
        fig.suptitle(title, fontsize=9)
    axes = fig.subplots(1, len(LOSS_TERMS))
    for ax, term in zip(axes, LOSS_TERMS):
        for label, history in histories.items():
            epochs = [r["epoch"] for r in history]
            ax.plot(epochs, [r[term] for r in history], marker=".", label=label)
        ax.set_title(TERM_TITLES[term], fontsize=9)
        ax.set_xlabel("epoch")
        if term == "center":
            ax.set_yscale("log")
    axes[0].legend(fontsize=7)
    return save_figure(fig, out)


def plot_lr(
    history: Sequence[Mapping[str, Any]],
    *,
    curves: Mapping[str, Sequence[float]],
    milestones: Sequence[int] = (),
    zoom_epochs: int = 12,
    out: Path | None = None,
) -> Figure:
    """The learning rate the run used in each epoch over the forms of Eq. (2)
    (`plot_lr_schedules`: whole run and warm-up zoom).

    Args:
        history: the run's epoch log; `lr` is the rate of each 1-based `epoch`.
        curves: label -> lr of each 0-based epoch (e.g. `lr_at_epoch` in each form).
        milestones: epochs where the rate decays, drawn as vertical lines.
        zoom_epochs: epochs in the right-hand panel (the warm-up).
    """
    fig = plot_lr_schedules(curves, milestones=milestones, zoom_epochs=zoom_epochs)
    epochs, lrs = [r["epoch"] for r in history], [r["lr"] for r in history]
    for ax, last in zip(fig.axes, (len(epochs), zoom_epochs)):
        ax.plot(epochs[:last], lrs[:last], "o", ms=4, color="black", label="this run")
    for ax in fig.axes:
        ax.legend(fontsize=7)
    return save_figure(fig, out)


def plot_metrics(
    histories: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    baselines: Mapping[str, float | Mapping[str, Any]] | None = None,
    title: str | None = None,
    out: Path | None = None,
) -> Figure:
    """Rank-1 and mAP at each evaluation, one line per run, with 95% bootstrap intervals over
    queries as error bars where the records hold the per-query outcomes (`"queries"`).

    Args:
        histories: run label -> epoch log records; records without `rank1` are skipped.
        baselines: label -> a rank-1 value, or a `{"rank1": ..., "mAP": ...}` mapping (with an
            optional `"ci95"`, drawn as a band), drawn as labelled horizontal lines (e.g. the
            untrained network, raw pixels, chance).
        title: figure title.
    """
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    axes = fig.subplots(1, 2)
    epochs = sorted({r["epoch"] for h in histories.values() for r in h if "rank1" in r})
    width = 0.35 * (min(np.diff(epochs)) if len(epochs) > 1 else 1)  # runs side by side
    offsets = np.linspace(-width, width, len(histories)) if len(histories) > 1 else [0.0]
    for (label, history), dx in zip(histories.items(), offsets):
        evaluated = [r for r in history if "rank1" in r]
        intervals = [
            bootstrap_ci(QueryOutcomes.from_json(r["queries"]), ranks=(1,))
            if "queries" in r
            else None
            for r in evaluated
        ]
        for key, ax in zip(("rank1", "mAP"), axes):
            x = [r["epoch"] + dx for r in evaluated]
            y = np.array([r[key] for r in evaluated])
            if all(ci is not None for ci in intervals):
                bounds = np.array([ci[key] for ci in intervals]).T  # `(2, evaluations)`
                yerr = np.abs(bounds - y)
                ax.errorbar(x, y, yerr=yerr, marker="o", capsize=3, label=label)
            else:
                ax.plot(x, y, marker="o", label=label)
    for key, ax in zip(("rank1", "mAP"), axes):
        ax.set_title("rank-1 (%)" if key == "rank1" else "mAP (%)", fontsize=9)
        ax.set_xlabel("epoch")
        if epochs:
            ax.set_xticks(epochs)
            ax.set_xlim(epochs[0] - 1, epochs[-1] + 1)
    for i, (label, value) in enumerate((baselines or {}).items()):
        values = value if isinstance(value, Mapping) else {"rank1": value}
        for key, ax in zip(("rank1", "mAP"), axes):
            if key in values:
                ax.axhline(values[key], color="grey", ls="--", lw=0.8)
                if "ci95" in values:
                    ax.axhspan(*values["ci95"][key], color="grey", alpha=0.12, lw=0)
                ax.annotate(  # x in axes coordinates, spread: labels stay inside, apart
                    label, (0.01 + 0.33 * i, values[key]), xycoords=ax.get_yaxis_transform(),
                    fontsize=7, color="grey", va="bottom",
                )  # fmt: skip
    axes[0].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    return save_figure(fig, out)


def plot_attention_by_erasing(
    weights: np.ndarray, erased: np.ndarray, *, title: str | None = None, out: Path | None = None
) -> Figure:
    """Histograms of the attention weight a_t of erased and of clean frames.

    Args:
        weights: attention weights a_t (after the softmax over T), any shape.
        erased: 1 for frames random erasing hit, else 0; the shape of `weights`.
        title: figure title.
    """
    weights = np.asarray(weights, float).ravel()
    erased = np.asarray(erased).astype(bool).ravel()
    fig = Figure(figsize=(5.5, 3.2), layout="constrained")
    ax = fig.subplots()
    # bins from 0, so that weights collapsed to 1/T show as one bar at 1/T
    bins = np.linspace(0.0, max(float(weights.max()) * 1.05, 1e-6), 26)
    for mask, label in ((~erased, "clean frames"), (erased, "erased frames")):
        if mask.any():
            ax.hist(
                weights[mask],
                bins=bins,
                alpha=0.6,
                label=f"{label} (mean {weights[mask].mean():.3f})",
            )
    ax.set_xlabel("attention weight a_t")
    ax.set_ylabel("frames")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    return save_figure(fig, out)
