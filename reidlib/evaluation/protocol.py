"""The test protocol end to end: embed query and gallery tracklets, rank, score (§IV-A)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn

from reidlib.choices import Metric
from reidlib.data.frame_cache import CachedFrames
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
    metric: Metric = "sqeuclidean",
    frames: CachedFrames | None = None,
) -> TrackletEvaluation:
    """Embeds every tracklet (mean of dense clips), ranks the gallery by squared Euclidean
    distance and scores CMC/mAP with the MARS protocol (docs/decisions.md §4).

    Under `torch.distributed` each process embeds its own share of the query and gallery
    tracklets and the features are gathered, so every process returns the same result and no
    process idles for a whole evaluation. `frames` (`cache_frames` of the query and gallery
    tracklets) are read instead of decoding each frame; every process may read the same file.
    """
    tracklets = [*query, *gallery]
    rank, world = _rank_and_world()
    if len(tracklets) < world:
        raise ValueError(f"{len(tracklets)} tracklets cannot be shared by {world} processes")
    bounds = [i * len(tracklets) // world for i in range(world + 1)]  # shares differ by <= 1
    local = extract_features(
        net,
        tracklets[bounds[rank] : bounds[rank + 1]],
        transform=transform,
        clip_len=clip_len,
        max_clips=max_clips,
        chunk=chunk,
        num_workers=num_workers,
        progress=progress,
        desc=f"{len(query)} query + {len(gallery)} gallery tracklets",
        frames=frames,
    )
    features = _gather_shares(local, bounds) if world > 1 else local
    return score_features(
        features[: len(query)], features[len(query) :], query, gallery, metric=metric
    )


def _rank_and_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _gather_shares(local: Tensor, bounds: list[int]) -> Tensor:
    """Every process's rows, in rank order (shares padded to one size for `all_gather`)."""
    size = max(b - a for a, b in itertools.pairwise(bounds))
    padded = local.new_zeros((size, local.shape[1]))
    padded[: len(local)] = local
    parts = [torch.empty_like(padded) for _ in range(len(bounds) - 1)]
    dist.all_gather(parts, padded)
    return torch.cat([part[: b - a] for part, (a, b) in zip(parts, itertools.pairwise(bounds))])


def score_features(
    q: Tensor,
    g: Tensor,
    query: Sequence[Tracklet],
    gallery: Sequence[Tracklet],
    *,
    metric: Metric = "sqeuclidean",
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
