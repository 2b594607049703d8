"""Rank lists (the paper's Figure 2): a query tracklet and its top-k gallery tracklets, framed
green for a true match and red for a false one."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from reidlib.data.io import read_frame
from reidlib.evaluation.rank import EvalResult
from reidlib.plotting.save import save_figure
from reidlib.types import Tracklet

MATCH, NON_MATCH = "#1a9641", "#d7191c"


def best_and_worst_queries(result: EvalResult, *, num: int = 3) -> tuple[list[int], list[int]]:
    """The `num` valid queries ranked best (highest AP, then earliest first match) and worst.

    Returns:
        `(best, worst)` query indices, best first in `best` and worst first in `worst`.
    """
    valid = np.flatnonzero(result.valid)
    ap = result.average_precision[valid]
    first = result.first_match_rank[valid]
    order = valid[np.lexsort((first, -ap))]  # AP descending, then first match ascending
    return order[:num].tolist(), order[::-1][:num].tolist()


def plot_rank_lists(
    query: Sequence[Tracklet],
    gallery: Sequence[Tracklet],
    result: EvalResult,
    query_indices: Sequence[int],
    *,
    top_k: int = 5,
    query_frames: int = 3,
    labels: Sequence[str] | None = None,
    out: Path | None = None,
) -> Figure:
    """One row per query: `query_frames` of its frames, then the middle frame of each of its
    `top_k` ranked gallery tracklets, each framed green (same pid) or red (another pid).

    Args:
        query, gallery: the tracklets the evaluation ranked.
        result: `evaluate_detailed(..., top_k >= top_k)` of those tracklets.
        query_indices: which queries to show, in order.
        top_k: gallery tracklets per row.
        query_frames: frames of the query tracklet shown, spread over it.
        labels: a caption per row (default: pid, camid, first-match rank and AP).
        out: if given, the PNG is saved there.
    """
    if result.top_indices.shape[1] < top_k:
        raise ValueError(
            f"result holds the top {result.top_indices.shape[1]} items; top_k={top_k} asked"
        )
    cols = query_frames + 1 + top_k
    fig = Figure(figsize=(0.85 * cols, 1.75 * len(query_indices) + 0.3), layout="constrained")
    grid = fig.subplots(
        len(query_indices),
        cols,
        squeeze=False,
        gridspec_kw={"width_ratios": [1] * query_frames + [0.3] + [1] * top_k},
    )
    for row, q in enumerate(query_indices):
        track = query[q]
        picks = np.linspace(0, len(track.frames) - 1, query_frames).round().astype(int)
        for j, i in enumerate(picks.tolist()):
            grid[row, j].imshow(np.asarray(read_frame(track.frames[i])))
        caption = (
            labels[row]
            if labels is not None
            else f"query {q}: pid {track.pid}, cam {track.camid}, "
            f"first match at rank {result.first_match_rank[q] + 1}, "
            f"AP {result.average_precision[q]:.2f}"
        )
        text = grid[row, 0].text(
            0, 1.04, caption, fontsize=7, transform=grid[row, 0].transAxes, va="bottom"
        )
        text.set_in_layout(False)  # a long caption must not widen the first column
        for k in range(top_k):
            ax = grid[row, query_frames + 1 + k]
            g = int(result.top_indices[q, k])
            if g < 0:
                continue
            candidate = gallery[g]
            image = np.asarray(read_frame(candidate.frames[len(candidate.frames) // 2]))
            ax.imshow(image)
            colour = MATCH if result.top_matches[q, k] else NON_MATCH
            h, w = image.shape[:2]
            ax.add_patch(Rectangle((0, 0), w - 1, h - 1, fill=False, edgecolor=colour, linewidth=4))
            ax.set_title(f"{k + 1}", fontsize=7, color=colour)
        for ax in grid[row]:
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
    return save_figure(fig, out)
