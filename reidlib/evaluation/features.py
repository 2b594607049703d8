"""Tracklet embeddings at test time: the mean of dense clip embeddings (§III, P_vid)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from reidlib.data.clip_dataset import TrackletDataset
from reidlib.data.frame_cache import CachedFrames
from reidlib.progress import progress_bar
from reidlib.types import Tracklet


def _check_eval(net: nn.Module) -> torch.device:
    if net.training:
        raise RuntimeError("embedding needs the network in eval mode: call net.eval() first")
    return next(net.parameters()).device


@torch.no_grad()
def extract_features(
    net: nn.Module,
    tracklets: Sequence[Tracklet],
    *,
    transform,
    clip_len: int = 4,
    max_clips: int | None = None,
    chunk: int = 32,
    num_workers: int = 0,
    progress: bool = True,
    desc: str = "features",
    frames: CachedFrames | None = None,
) -> Tensor:
    """Embeddings of many tracklets, `(len(tracklets), D)`, decoded by DataLoader workers: the
    video-level feature of §III (P_vid), each tracklet's mean clip embedding.

    Each tracklet is cut into non-overlapping `clip_len`-frame clips, the last one padded by
    cycling its own frames (docs/decisions.md §4), and decoded by a worker; clips of consecutive tracklets are
    packed into forward passes of `chunk` clips (short tracklets would otherwise make many tiny
    passes), and each tracklet's embedding is the mean of its own clips' embeddings. With the
    reference cap (`max_clips=41`) a worker holds at most 164 frames, with `max_clips=None` a
    whole tracklet (MARS tracklets reach 920 frames); the packing buffer holds fewer than
    `chunk` clips beyond the tracklet being added. Unbounded dense clips are a known
    out-of-memory trap of earlier implementations (docs/decisions.md §4, "Clip cap").

    Args:
        net: a network in eval mode with an `embed(clips) -> (B, D)` method.
        tracklets: the tracklets to embed.
        transform: the per-frame test transform (PIL image -> `(C, H, W)`).
        clip_len: T, frames per clip.
        max_clips: keep only the first `max_clips` clips (41 in the reference code); None = all.
        chunk: clips per forward pass.
        num_workers: DataLoader workers decoding tracklets.
        progress: a progress bar over tracklets.
        desc: its label.
        frames: decoded test frames holding every frame of `tracklets` (`cache_frames`), read
            instead of decoding (`transform` must then be the test transform at their size);
            None = every frame decoded.
    """
    device = _check_eval(net)
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    dataset = TrackletDataset(
        tracklets, transform=transform, clip_len=clip_len, max_clips=max_clips, frames=frames
    )
    loader = DataLoader(
        dataset,
        batch_size=None,
        num_workers=num_workers,
        pin_memory=device.type == "cuda",
    )
    sums: Tensor | None = None
    counts = torch.zeros(len(tracklets), device=device)
    pending: list[Tensor] = []  # decoded clips not yet embedded, `waiting` of them
    waiting = 0
    owners: list[Tensor] = []

    def embed(clips: Tensor, owner: Tensor) -> None:
        nonlocal sums
        emb = net.embed(clips.to(device, non_blocking=True)).float()  # `(c, D)`
        if sums is None:
            sums = emb.new_zeros((len(tracklets), emb.shape[1]))
        owner = owner.to(device)
        sums.index_add_(0, owner, emb)
        counts.index_add_(0, owner, torch.ones_like(owner, dtype=counts.dtype))

    for index, (clips, _, _) in enumerate(
        progress_bar(loader, desc=desc, disable=not progress, leave=False)
    ):
        pending.append(clips)
        owners.append(torch.full((clips.shape[0],), index, dtype=torch.long))
        waiting += clips.shape[0]
        if waiting >= chunk:
            clips, owner = torch.cat(pending), torch.cat(owners)
            full = clips.shape[0] - clips.shape[0] % chunk
            for start in range(0, full, chunk):
                embed(clips[start : start + chunk], owner[start : start + chunk])
            pending, owners = [clips[full:]], [owner[full:]]
            waiting = clips.shape[0] - full
    if waiting:
        embed(torch.cat(pending), torch.cat(owners))
    if sums is None:
        raise ValueError("extract_features got no tracklets")
    return sums / counts.unsqueeze(1)
