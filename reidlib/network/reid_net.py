"""The paper's single-stream 2D network: frame encoder → temporal attention → BNNeck."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from reidlib.network.bnneck import BNNeckHead
from reidlib.types import ReIDOutput


class VideoReIDNet(nn.Module):
    """Video Re-ID network of Figure 1.

    `forward` takes clips `(B, T, C, H, W)` and returns a `ReIDOutput` (logits, features before
    and after BNNeck, attention scores and weights) in train and eval mode alike; `embed` is the
    evaluator's view of it, the BNNeck output (running statistics in eval mode, docs/decisions.md
    §1.3).

    Args:
        backbone: frame encoder, `(N, C, H, W) -> (N, D, h, w)`.
        temporal: aggregation module, `(B, T, D, h, w) -> (feature, scores, weights)`.
        head: BNNeck head.
    """

    def __init__(self, backbone: nn.Module, temporal: nn.Module, head: BNNeckHead) -> None:
        super().__init__()
        self.backbone = backbone
        self.temporal = temporal
        self.head = head
        self.channels_last = False

    def encode_frames(self, clips: Tensor) -> Tensor:
        """Per-frame feature maps. `clips`: `(B, T, C, H, W)` -> `(B, T, D, h, w)`."""
        if clips.dim() != 5:
            raise ValueError(f"expected clips of shape (B, T, C, H, W), got {tuple(clips.shape)}")
        b, t = clips.shape[:2]
        frames = clips.reshape(b * t, *clips.shape[2:])
        if self.channels_last:
            frames = frames.contiguous(memory_format=torch.channels_last)
        maps = self.backbone(frames)
        return maps.reshape(b, t, *maps.shape[1:])

    def aggregate(self, maps: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Clip feature (Eq. 1), attention scores s and weights a from `(B, T, D, h, w)`."""
        return self.temporal(maps)

    def forward(self, clips: Tensor) -> ReIDOutput:
        """Every named output of `B` clips."""
        feature, s, a = self.aggregate(self.encode_frames(clips))
        return self.head(feature, attention_scores=s, attention_weights=a)

    def embed(self, clips: Tensor) -> Tensor:
        """Clip embeddings `(B, D)`: the BNNeck output (running statistics in eval mode)."""
        return self(clips).bn_feature

    def use_channels_last(self, enabled: bool = True) -> VideoReIDNet:
        """Stores conv weights and frames channels-last (faster convolutions on recent GPUs)."""
        fmt = torch.channels_last if enabled else torch.contiguous_format
        self.backbone.to(memory_format=fmt)
        self.channels_last = enabled
        return self
