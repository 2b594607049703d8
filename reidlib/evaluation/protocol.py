"""The test protocol end to end: embed query and gallery tracklets, rank, score (§IV-A)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from torch import Tensor, nn

from reidlib.evaluation.distance import pairwise_distance
from reidlib.evaluation.features import extract_features
from reidlib.evaluation.rank import EvalResult, evaluate_detailed
from reidlib.types import Tracklet

RANKS = (1, 5, 10, 20)


class TrackletEvaluation(NamedTuple):
    metrics: dict[str, Any]  # rank1/5/10/20, mAP, chance_rank1 in percent, num_valid_queries
    result: EvalResult  # CMC, mAP and per-query ranks (for rank lists, Figure 2)
    q_features: Tensor  # `(num_q, D)`
    g_features: Tensor  # `(num_g, D)`


def metrics_from(result: EvalResult) -> dict[str, Any]:
    """Rank-k accuracy and mAP in percent, as the paper reports them."""
    cmc = np.asarray(result.cmc)
    metrics: dict[str, Any] = {f"rank{k}": float(cmc[min(k, len(cmc)) - 1]) * 100 for k in RANKS}
    metrics["mAP"] = float(result.mAP) * 100
    metrics["num_valid_queries"] = int(result.num_valid_queries)
    return metrics


def chance_rank1(
    q_pids: np.ndarray, g_pids: np.ndarray, q_camids: np.ndarray, g_camids: np.ndarray
) -> float:
    """Expected rank-1 (%) of a random ranking under the same protocol: for each valid query,
    its true matches over the gallery items left after removing same-pid same-camid items.

    A trained network must beat this; an untrained one usually does a little, through colour.
    """
    same_pid = np.asarray(q_pids)[:, None] == np.asarray(g_pids)[None, :]
    same_cam = np.asarray(q_camids)[:, None] == np.asarray(g_camids)[None, :]
    relevant = (same_pid & ~same_cam).sum(axis=1)
    remaining = (~(same_pid & same_cam)).sum(axis=1)
    valid = relevant > 0
    return float((relevant[valid] / remaining[valid]).mean() * 100) if valid.any() else 0.0


def evaluate_tracklets(
    net: nn.Module,
    query: Sequence[Tracklet],
    gallery: Sequence[Tracklet],
    *,
    transform,
    clip_len: int = 4,
    max_clips: int | None = 41,
    chunk: int = 32,
    num_workers: int = 0,
    progress: bool = True,
    metric: str = "sqeuclidean",
) -> TrackletEvaluation:
    """Embeds every tracklet (mean of dense clips), ranks the gallery by squared Euclidean
    distance and scores CMC/mAP with the MARS protocol (REFERENCE.md §4)."""
    common = dict(
        transform=transform,
        clip_len=clip_len,
        max_clips=max_clips,
        chunk=chunk,
        num_workers=num_workers,
        progress=progress,
    )
    q = extract_features(net, query, desc="query", **common)
    g = extract_features(net, gallery, desc="gallery", **common)
    return score_features(q, g, query, gallery, metric=metric)


def score_features(
    q: Tensor,
    g: Tensor,
    query: Sequence[Tracklet],
    gallery: Sequence[Tracklet],
    *,
    metric: str = "sqeuclidean",
) -> TrackletEvaluation:
    """Ranks `g` for every row of `q` and scores CMC/mAP with the MARS protocol; the rows
    belong to `query` and `gallery`, whose pids and camids decide the matches."""
    ids = (
        np.array([t.pid for t in query]),
        np.array([t.pid for t in gallery]),
        np.array([t.camid for t in query]),
        np.array([t.camid for t in gallery]),
    )
    result = evaluate_detailed(pairwise_distance(q, g, metric=metric), *ids)
    metrics = metrics_from(result)
    metrics["chance_rank1"] = chance_rank1(*ids)
    return TrackletEvaluation(metrics, result, q.cpu(), g.cpu())
