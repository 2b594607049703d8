"""Looks inside a trained network on training clips: where attention goes (Eq. 1, Eq. 12)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader


@torch.no_grad()
def attention_on_training_clips(trainer: Any, *, batches: int = 4, epoch: int = 0) -> dict:
    """Attention scores s_t and weights a_t of augmented training clips, with erased flags.

    The clips are drawn exactly as in training epoch `epoch` (identity batches, frame choice,
    augmentation and per-frame random erasing), and the network runs in eval mode.

    Args:
        trainer: a `reidlib.training.trainer.Trainer`.
        batches: how many training batches to look at.
        epoch: whose sampling to replay.

    Returns:
        `{"weights", "scores", "erased"}`, each a flat numpy array over every frame seen.
    """
    net = trainer.net
    was_training = net.training
    net.eval()
    trainer._seed_epoch(epoch)
    loader = DataLoader(trainer.train_set, batch_sampler=trainer.batch_sampler)
    weights, scores, erased = [], [], []
    try:
        for i, (clips, _, _, flags) in enumerate(loader):
            if i == batches:
                break
            out = net(clips.to(trainer.device))
            weights.append(out.attention_weights.float().cpu().flatten())
            scores.append(out.attention_scores.float().cpu().flatten())
            erased.append(flags.flatten())
    finally:
        net.train(was_training)
    return {
        "weights": torch.cat(weights).numpy(),
        "scores": torch.cat(scores).numpy(),
        "erased": torch.cat(erased).numpy().astype(np.int64),
    }
