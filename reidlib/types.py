"""Records that flow between the data layer, the network, the losses and the evaluator."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
from torch import Tensor


class Tracklet(NamedTuple):
    """One person's ordered frames from one camera."""

    frames: tuple[Path, ...]
    pid: int  # person identity; training pids are relabelled 0..N-1
    camid: int  # camera, 0-based


class ReIDOutput(NamedTuple):
    """Everything the network computes for a batch of clips, by name."""

    logits: Tensor  # `(B, N)` classifier scores
    feature: Tensor  # `(B, D)` clip feature before BNNeck, Eq. (1); see `loss.dml_feature`
    bn_feature: Tensor  # `(B, D)` clip feature after BNNeck: fed to the losses and the evaluator
    attention_scores: Tensor  # `(B, T)` s_t, before the softmax (ReLU output)
    attention_weights: Tensor  # `(B, T)` a_t, after the softmax over T


class FrameWeights(NamedTuple):
    """The attention each frame of a tracklet gets in its dense test clip."""

    weights: np.ndarray  # `(n,)` a_t; NaN past the clip cap
    dead: np.ndarray  # `(n,)` bool: every score s_t of the frame's clip is 0 (weights 1/T)
