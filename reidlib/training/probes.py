"""Looks inside a trained network: where attention goes on training clips (Eq. 1, Eq. 12) and
on the frames of a test tracklet."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from reidlib.data import TrackletDataset, denormalize, dense_clip_indices
from reidlib.types import FrameWeights, Tracklet


@torch.no_grad()
def attention_on_training_clips(
    trainer: Any, *, batches: int = 4, epoch: int = 0, keep_images: int = 16
) -> dict[str, np.ndarray]:
    """Attention scores s_t and weights a_t of augmented training clips, with erased flags.

    The clips are drawn exactly as in training epoch `epoch` (identity batches, frame choice,
    augmentation and per-frame random erasing), and the network runs in eval mode.

    Args:
        trainer: a `reidlib.training.trainer.Trainer`.
        batches: how many training batches to look at.
        epoch: whose sampling to replay.
        keep_images: clips whose frames are kept (denormalised to [0, 1]) for pictures.

    Returns:
        `{"weights", "scores", "erased"}`, each `(clips, T)`, and `"images"`,
        `(min(clips, keep_images), T, C, H, W)`.
    """
    net = trainer.net
    was_training = net.training
    net.eval()
    weights, scores, erased, images = [], [], [], []
    try:
        for i, (clips, _, _, flags) in enumerate(trainer.epoch_loader(epoch)):
            if i == batches:
                break
            out = net(clips.to(trainer.device))
            weights.append(out.attention_weights.float().cpu())
            scores.append(out.attention_scores.float().cpu())
            erased.append(flags)
            kept = sum(len(x) for x in images)
            images.append(denormalize(clips[: max(keep_images - kept, 0)]))
    finally:
        net.train(was_training)
    return {
        "weights": torch.cat(weights).numpy(),
        "scores": torch.cat(scores).numpy(),
        "erased": torch.cat(erased).numpy().astype(np.int64),
        "images": torch.cat(images).numpy(),
    }


@torch.no_grad()
def frame_attention(
    net: nn.Module, tracklet: Tracklet, *, transform, clip_len: int, max_clips: int | None
) -> FrameWeights:
    """The attention weight a_t each frame of `tracklet` gets in its dense test clip, and
    whether that clip's attention is dead (every score s_t 0, so every weight 1/T); frames past
    the clip cap get NaN and are not dead. A padded last clip repeats frames: a frame's first
    appearance counts."""
    if net.training:
        raise RuntimeError("frame_attention needs the network in eval mode: call net.eval()")
    device = next(net.parameters()).device
    dataset = TrackletDataset(
        [tracklet], transform=transform, clip_len=clip_len, max_clips=max_clips
    )
    clips, _, _ = dataset[0]
    out = net(clips.to(device))
    a = out.attention_weights.float().cpu().numpy().ravel()
    scores = out.attention_scores.float().cpu().numpy()
    dead_clip = np.repeat((scores == 0).all(axis=1), scores.shape[1])
    weights = np.full(len(tracklet.frames), np.nan)
    dead = np.zeros(len(tracklet.frames), dtype=bool)
    order = [
        i
        for clip in dense_clip_indices(len(tracklet.frames), clip_len=clip_len, max_clips=max_clips)
        for i in clip
    ]
    for position, frame in reversed(list(enumerate(order))):  # the first appearance wins
        weights[frame], dead[frame] = a[position], dead_clip[position]
    return FrameWeights(weights, dead)
