"""A no-learning reference: tracklets compared by their raw pixels.

The synthetic people are told apart by clothing colours and patterns, which survive the
quick profile's 32×16 input. This descriptor (the frames resized as at test time, the central
`center_fraction` of the columns, where the person stands, averaged over the tracklet) measures
how much of that a ranking gets with no learning at all, so a trained network's rank-1 can be
read against three numbers: chance, the untrained network, and raw pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from reidlib.data.clip_dataset import TrackletFrames
from reidlib.data.frame_cache import CachedFrames
from reidlib.data.transforms import build_test_transform
from reidlib.evaluation.protocol import TrackletEvaluation, score_features
from reidlib.progress import progress_bar
from reidlib.types import Tracklet


def central_columns(frames: Tensor, center_fraction: float) -> Tensor:
    """The middle `round(W · center_fraction)` columns (at least one) of `(..., H, W)`."""
    if not 0 < center_fraction <= 1:
        raise ValueError(f"center_fraction must be in (0, 1], got {center_fraction}")
    width = frames.shape[-1]
    keep = max(1, round(width * center_fraction))
    start = (width - keep) // 2
    return frames[..., start : start + keep]


def pixel_features(
    tracklets: Sequence[Tracklet],
    *,
    size: tuple[int, int] = (32, 16),
    center_fraction: float = 0.5,
    progress: bool = False,
    frames: CachedFrames | None = None,
) -> Tensor:
    """`(N, C·H·W')`: per tracklet, the mean over its frames of the normalised test-time
    frame's central columns, flattened. `frames` (`cache_frames` at `size`, holding the
    tracklets' frames) are read instead of decoding; None = every frame decoded."""
    transform = build_test_transform(size=size)
    rows = []
    for t in progress_bar(tracklets, desc="pixels", disable=not progress, leave=False):
        stacked = torch.stack(TrackletFrames(t, transform=transform, frames=frames)[:])
        rows.append(central_columns(stacked, center_fraction).mean(dim=0).flatten())
    return torch.stack(rows)


def evaluate_pixel_baseline(
    query: Sequence[Tracklet],
    gallery: Sequence[Tracklet],
    *,
    size: tuple[int, int] = (32, 16),
    center_fraction: float = 0.5,
    progress: bool = False,
    frames: CachedFrames | None = None,
) -> TrackletEvaluation:
    """Rank-k, mAP and chance of `pixel_features` under the MARS protocol (squared
    Euclidean distance, same-camera matches of the query's id left out). `frames` as there:
    `cache_frames([*query, *gallery], size=size, ...)` is the file a trainer's evaluation of
    the same test set at the same size reads."""
    kwargs = dict(size=size, center_fraction=center_fraction, progress=progress, frames=frames)
    q = pixel_features(query, **kwargs)
    g = pixel_features(gallery, **kwargs)
    return score_features(q, g, query, gallery)
