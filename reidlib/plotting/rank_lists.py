"""Rank lists (the paper's Figure 2): a query tracklet and its top-k gallery tracklets, framed
green for a true match and red for a false one."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from reidlib.data.io import read_frame
from reidlib.evaluation.rank import EvalResult
from reidlib.plotting.save import save_figure
from reidlib.types import FrameWeights, Tracklet

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
    attention: Callable[[Tracklet], FrameWeights] | None = None,
    title: str | None = None,
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
        attention: tracklet -> the attention each of its frames gets in its dense test clip
            (`FrameWeights`, e.g. `reidlib.training.probes.frame_attention` bound to a
            network), written under each frame shown: its weight a_t, or "attention dead: 1/T"
            where every score of its clip is 0.
        title: figure title.
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
            _attention_label(grid[row, j], attention, track, i)
        caption = (
            labels[row]
            if labels is not None
            else f"query {q}: pid {track.pid}, cam {track.camid}, "
            f"first match at rank {result.first_match_rank[q] + 1}, "
            f"AP {result.average_precision[q]:.2f}"
        )
        caption = textwrap.fill(caption, int(11 * cols))  # within the figure's width
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
            middle = len(candidate.frames) // 2
            image = np.asarray(read_frame(candidate.frames[middle]))
            ax.imshow(image)
            _attention_label(ax, attention, candidate, middle)
            colour = MATCH if result.top_matches[q, k] else NON_MATCH
            h, w = image.shape[:2]
            ax.add_patch(Rectangle((0, 0), w - 1, h - 1, fill=False, edgecolor=colour, linewidth=4))
            ax.set_title(f"{k + 1}", fontsize=7, color=colour)
        for ax in grid[row]:
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=9)
    return save_figure(fig, out)


DEAD_LABEL = "attention dead: 1/T"  # every score s_t of the frame's clip is 0


def attention_label(weights: FrameWeights, frame: int) -> str:
    """What a frame's picture says of its attention: its weight a_t, or that the attention of
    its clip is dead (every score 0, so every weight is 1/T and says nothing of the frame)."""
    return DEAD_LABEL if weights.dead[frame] else f"a={weights.weights[frame]:.2f}"


def _attention_label(
    ax, attention: Callable[[Tracklet], FrameWeights] | None, tracklet: Tracklet, frame: int
) -> None:
    if attention is not None:
        ax.set_xlabel(attention_label(attention(tracklet), frame), fontsize=7, labelpad=1)


def plot_first_match_ranks(
    result: EvalResult, *, last: int = 10, title: str | None = None, out: Path | None = None
) -> Figure:
    """How many valid queries find their first true match at rank 1, 2, ..., `last`, and
    beyond (the CMC curve's steps)."""
    ranks = result.first_match_rank[result.valid] + 1
    counts = np.bincount(np.minimum(ranks, last + 1), minlength=last + 2)[1:]
    fig = Figure(figsize=(6, 3), layout="constrained")
    ax = fig.subplots()
    ax.bar(range(1, last + 2), counts, color="#3182bd")
    ax.set_xticks(range(1, last + 2), [*map(str, range(1, last + 1)), f">{last}"])
    ax.set_xlabel("rank of the first true match")
    ax.set_ylabel("queries")
    if title:
        ax.set_title(title, fontsize=9)
    return save_figure(fig, out)
