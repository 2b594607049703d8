"""Training clips: which frames a sampler picks, and the clips themselves with their per-frame
erased flags and attention weights (the method tour and the data notebook)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from torch import Tensor

from reidlib.plotting.save import save_figure

ERASED_COLOUR = "tab:red"


def plot_frame_sampling(
    draws: Mapping[str, Sequence[Sequence[int]]],
    *,
    num_frames: int,
    out: Path | None = None,
) -> Figure:
    """Which frames of one tracklet each sampler picks, one row per draw.

    Args:
        draws: sampler name -> its draws, each a list of `T` frame indices.
        num_frames: frames in the tracklet (the x range).
        out: if given, the PNG is saved there.

    Returns:
        The figure; panel i's first collection holds sampler i's points `(frame, draw)`.
    """
    fig = Figure(figsize=(6.5, 1.1 + 1.6 * len(draws)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(draws), 1, sharex=True))
    for ax, (name, picks) in zip(axes, draws.items()):
        points = np.array([(i, row) for row, clip in enumerate(picks) for i in clip])
        ax.scatter(points[:, 0], points[:, 1], s=14, color="tab:blue", zorder=3)
        for row, clip in enumerate(picks):
            ax.plot(clip, [row] * len(clip), color="tab:blue", lw=0.5, alpha=0.5)
        ax.set_xlim(-0.5, num_frames - 0.5)
        ax.set_ylim(len(picks) - 0.5, -0.5)
        ax.set_ylabel("draw")
        ax.set_title(name, fontsize=9, loc="left")
        ax.grid(axis="x", lw=0.3, alpha=0.5)
    axes[-1].set_xlabel(f"frame index (tracklet of {num_frames} frames)")
    return save_figure(fig, out)


def plot_clip_grid(
    frames: Tensor | np.ndarray,
    *,
    erased: Tensor | np.ndarray | None = None,
    weights: Tensor | np.ndarray | None = None,
    row_labels: Sequence[str] | None = None,
    title: str | None = None,
    out: Path | None = None,
) -> Figure:
    """Clips as rows of frames, with each frame's erased flag and attention weight.

    Args:
        frames: `(N, T, C, H, W)` images in [0, 1] (e.g. `denormalize(clips)`).
        erased: `(N, T)`, 1 where random erasing hit the frame; such frames get a red frame and
            an "erased" tag.
        weights: `(N, T)` attention weights a_t, written above each frame.
        row_labels: one label per clip, shown left of its row.
        title: figure title.
        out: if given, the PNG is saved there.

    Returns:
        The figure; axis `[n * T + t]` shows frame t of clip n.
    """
    images = np.asarray(frames, dtype=float)
    if images.ndim != 5:
        raise ValueError(f"frames must be (N, T, C, H, W), got shape {images.shape}")
    n, t = images.shape[:2]
    flags = None if erased is None else np.asarray(erased).astype(bool)
    a = None if weights is None else np.asarray(weights, dtype=float)
    for name, value in (("erased", flags), ("weights", a)):
        if value is not None and value.shape != (n, t):
            raise ValueError(f"{name} must be ({n}, {t}) like the clips, got {value.shape}")
    fig = Figure(figsize=(1.3 * t + 1.3, 2.3 * n + 0.4), layout="constrained")
    grid = fig.subplots(n, t, squeeze=False)
    for i in range(n):
        for j in range(t):
            ax = grid[i, j]
            ax.imshow(images[i, j].transpose(1, 2, 0).clip(0, 1))
            ax.set_xticks([])
            ax.set_yticks([])
            label = [] if a is None else [f"a={a[i, j]:.3f}"]
            if flags is not None and flags[i, j]:
                label.append("erased")
                for spine in ax.spines.values():
                    spine.set_edgecolor(ERASED_COLOUR)
                    spine.set_linewidth(2.5)
            ax.set_title(
                " ".join(label), fontsize=7, color=ERASED_COLOUR if "erased" in label else "black"
            )
        if row_labels is not None:
            grid[i, 0].set_ylabel(row_labels[i], fontsize=9)
    if title:
        fig.suptitle(title, fontsize=9)
    return save_figure(fig, out)
