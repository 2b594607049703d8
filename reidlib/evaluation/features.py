"""Tracklet embeddings at test time: the mean of dense clip embeddings (§III, P_vid)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from reidlib.data.clip_dataset import TrackletDataset
from reidlib.data.frames import dense_clip_indices
from reidlib.types import Tracklet


def _check_eval(net: nn.Module) -> torch.device:
    if net.training:
        raise RuntimeError("embedding needs the network in eval mode: call net.eval() first")
    return next(net.parameters()).device


def _mean_embedding(net: nn.Module, batches: Iterable[Tensor], device: torch.device) -> Tensor:
    """Mean of `net.embed` over clip batches `(c, T, C, H, W)`, summed on the fly."""
    total, count = None, 0
    for batch in batches:
        emb = net.embed(batch.to(device, non_blocking=True)).float().sum(dim=0)  # `(D,)`
        total = emb if total is None else total + emb
        count += batch.shape[0]
    return total / count


@torch.no_grad()
def embed_clips(net: nn.Module, clips: Tensor, *, chunk: int = 16) -> Tensor:
    """Mean embedding of a tracklet's clips `(n_clips, T, C, H, W)`, `chunk` clips per pass."""
    device = _check_eval(net)
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    if clips.shape[0] == 0:
        raise ValueError("embed_clips got no clips")
    return _mean_embedding(net, clips.split(chunk), device)


def _stack_clips(frames: Tensor | Sequence[Tensor], clips: list[list[int]]) -> Tensor:
    """Frames of `clips` as `(len(clips), T, C, H, W)`, reading only the frames needed."""
    if isinstance(frames, Tensor):
        return frames[torch.as_tensor(clips, device=frames.device)]
    return torch.stack([torch.stack([frames[i] for i in clip]) for clip in clips])


@torch.no_grad()
def embed_tracklet(
    net: nn.Module,
    frames: Tensor | Sequence[Tensor],
    *,
    clip_len: int = 4,
    max_clips: int | None = None,
    chunk: int = 16,
) -> Tensor:
    """Video-level feature of one tracklet: the mean of its dense clip embeddings.

    The tracklet is cut into non-overlapping `clip_len`-frame clips, the last one padded by
    cycling its own frames (docs/decisions.md §4). Clips go to `net.embed` `chunk` at a time and
    their embeddings are summed on the fly, so peak memory depends on `chunk`, not on the
    tracklet's length: with a lazy `frames` sequence (e.g. `reidlib.data.TrackletFrames`) only
    the frames of one chunk are ever decoded at once. Unbounded dense clips are a known
    out-of-memory trap of earlier implementations (docs/decisions.md §4, "Clip cap").

    Args:
        net: a network in eval mode with an `embed(clips) -> (B, D)` method.
        frames: the tracklet's frames, a `(n, C, H, W)` tensor or a sequence of `(C, H, W)`.
        clip_len: T, frames per clip.
        max_clips: keep only the first `max_clips` clips (41 in the reference code); None = all.
        chunk: clips per forward pass.

    Returns:
        The tracklet embedding, `(D,)`, on the network's device.
    """
    device = _check_eval(net)
    if len(frames) == 0:
        raise ValueError("embed_tracklet got a tracklet with no frames")
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    clips = dense_clip_indices(len(frames), clip_len=clip_len, max_clips=max_clips)
    batches = (_stack_clips(frames, clips[i : i + chunk]) for i in range(0, len(clips), chunk))
    return _mean_embedding(net, batches, device)


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
) -> Tensor:
    """Embeddings of many tracklets, `(len(tracklets), D)`, decoded by DataLoader workers.

    Each tracklet's dense clips are decoded by a worker; clips of consecutive tracklets are
    packed into forward passes of `chunk` clips (short tracklets would otherwise make many tiny
    passes), and each tracklet's embedding is the mean of its own clips' embeddings. With the
    reference cap (`max_clips=41`) a worker holds at most 164 frames, with `max_clips=None` a
    whole tracklet (MARS tracklets reach 920 frames); the packing buffer holds fewer than
    `chunk` clips beyond the tracklet being added.
    """
    device = _check_eval(net)
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    dataset = TrackletDataset(
        tracklets, transform=transform, clip_len=clip_len, max_clips=max_clips
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
        tqdm(loader, desc=desc, disable=not progress, leave=False)
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
