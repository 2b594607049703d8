"""Records that flow between the data layer, the network, the losses and the evaluator."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from torch import Tensor


class Tracklet(NamedTuple):
    """One person's ordered frames from one camera."""

    frames: tuple[Path, ...]
    pid: int  # person identity; training pids are relabelled 0..N-1
    camid: int  # camera, 0-based


class ReIDOutput(NamedTuple):
    """Everything the network computes for a batch of clips, by name."""

    logits: Tensor  # `(B, N)` classifier scores
    feature: Tensor  # `(B, D)` clip feature before BNNeck, Eq. (1)
    bn_feature: Tensor  # `(B, D)` clip feature after BNNeck: fed to the losses and the evaluator
    attention_scores: Tensor  # `(B, T)` s_t, before the softmax (ReLU output)
    attention_weights: Tensor  # `(B, T)` a_t, after the softmax over T
