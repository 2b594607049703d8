"""Frames of tracklets: identities seen by two cameras, and the same people through every
synthetic camera (the data notebook, the README)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from reidlib.data.io import read_frame
from reidlib.plotting.save import save_figure
from reidlib.types import Tracklet


def plot_frame_grid(
    tracklets: Sequence[Tracklet],
    *,
    num_ids: int = 6,
    frames_per_tracklet: int = 4,
    cameras: tuple[int, int] | None = None,
    pids: Sequence[int] | None = None,
    title: str | None = None,
    out: Path | None = None,
) -> Figure:
    """Frames of several identities, each seen by two cameras, one row per identity.

    For each identity the first tracklet of each of the two cameras is shown as
    `frames_per_tracklet` frames spread evenly over the tracklet.

    Args:
        tracklets: where to look for identities (e.g. a dataset's `train`).
        num_ids: rows.
        frames_per_tracklet: frames shown from each camera.
        cameras: the two camids to compare; `None` = the first two cameras each identity has.
        pids: identities to show, in order; `None` = the first `num_ids` identities (by pid)
            seen by both cameras.
        title: figure title.
        out: if given, the PNG is saved there.

    Returns:
        The figure.
    """
    views: dict[int, dict[int, Tracklet]] = defaultdict(dict)
    for t in tracklets:
        views[t.pid].setdefault(t.camid, t)

    def pair(pid: int) -> tuple[int, int] | None:
        cams = sorted(views[pid])
        if cameras is not None:
            return cameras if set(cameras) <= set(cams) else None
        return (cams[0], cams[1]) if len(cams) >= 2 else None

    candidates = list(pids) if pids is not None else sorted(views)
    rows = [(pid, pair(pid)) for pid in candidates if pid in views and pair(pid) is not None]
    rows = rows[:num_ids]
    if not rows:
        raise ValueError("no identity is seen by two cameras in the given tracklets")
    k = frames_per_tracklet
    fig = Figure(figsize=(0.75 * (2 * k + 1), 1.45 * len(rows) + 0.4), layout="constrained")
    grid = fig.subplots(
        len(rows),
        2 * k + 1,
        squeeze=False,
        gridspec_kw={"width_ratios": [1] * k + [0.25] + [1] * k},
    )
    for r, (pid, cams) in enumerate(rows):
        for side, camid in enumerate(cams):
            track = views[pid][camid]
            picks = np.linspace(0, len(track.frames) - 1, k).round().astype(int)
            for j, i in enumerate(picks.tolist()):
                ax = grid[r, j + side * (k + 1)]
                ax.imshow(np.asarray(read_frame(track.frames[i])))
                if j == 0:
                    ax.set_title(f"pid {pid} · cam {camid}", fontsize=7, loc="left")
        for ax in grid[r]:
            ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=9)
    return save_figure(fig, out, dpi=150)


def camera_caption(camera: Mapping[str, Any]) -> str:
    """Three short lines naming what a synthetic camera does (a manifest's `cameras` entry):
    its view, its channel gains (R/G/B), its gamma and, where it has them, low resolution and
    motion blur."""
    gain = "/".join(f"{g:.2f}" for g in camera["channel_gain"])
    effects = [f"γ {camera['gamma']:.2f}"]
    if camera["low_res"] < 1:
        effects.append(f"{camera['low_res']:.0%} res")
    if camera["motion_blur"]:
        effects.append(f"blur {camera['motion_blur']} px")
    return f"cam {camera['camid']} · {camera['view']}\ngain {gain}\n" + ", ".join(effects)


def plot_camera_views(
    frames: np.ndarray,
    cameras: Sequence[Mapping[str, Any]],
    *,
    title: str | None = None,
    out: Path | None = None,
) -> Figure:
    """The same people through every camera: one row per person, one column per camera, each
    column titled with the camera's drawn effects (`camera_caption`).

    Args:
        frames: `(people, cameras, H, W, 3)` uint8, as `reidlib.data.render_through_cameras`.
        cameras: per camera the values its manifest records (`synthetic.json`'s `cameras`).
        title: figure title.
        out: if given, the PNG is saved there.
    """
    people, num_cameras = frames.shape[:2]
    if len(cameras) != num_cameras:
        raise ValueError(f"{num_cameras} columns of frames but {len(cameras)} cameras described")
    fig = Figure(figsize=(1.25 * num_cameras + 0.3, 2.0 * people + 0.7), layout="constrained")
    grid = fig.subplots(people, num_cameras, squeeze=False)
    for c, camera in enumerate(cameras):
        grid[0, c].set_title(camera_caption(camera), fontsize=6.5)
        for p in range(people):
            grid[p, c].imshow(frames[p, c])
            grid[p, c].set_axis_off()
    if title:
        fig.suptitle(title, fontsize=9)
    return save_figure(fig, out, dpi=150)
