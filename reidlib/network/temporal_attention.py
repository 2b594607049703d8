"""Clip feature from frame feature maps: temporal attention (Eq. 1) or average pooling."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from reidlib.choices import Eq1Form


def attention_pool(features: Tensor, weights: Tensor, *, form: Eq1Form = "reference") -> Tensor:
    """Attention-weighted clip feature, Eq. (1): F_C = (1/T) Σ_t a_t f_t.

    The paper prints the 1/T factor (`form="paper"`); the reference code sums without it
    (`form="reference"`, the default), which BNNeck's normalisation makes equivalent up to scale
    (docs/decisions.md §2.2).

    Args:
        features: frame features f_t, `(B, T, D)`.
        weights: attention weights a_t, `(B, T)`, summing to 1 over T.
        form: `"reference"` (Σ_t a_t f_t) or `"paper"` ((1/T) Σ_t a_t f_t).

    Returns:
        The clip feature, `(B, D)`.
    """
    pooled = (weights.unsqueeze(-1) * features).sum(dim=1)  # Σ_t a_t f_t
    if form == "paper":
        return pooled / features.shape[1]
    if form != "reference":
        raise ValueError(f"Unknown Eq. (1) form {form!r}: must be 'reference' or 'paper'")
    return pooled


class TemporalAttention(nn.Module):
    """Spatial conv + temporal conv attention over the T frames of a clip (Gao & Nevatia, [16]).

    A 2D convolution whose kernel covers the whole final feature map turns each frame's map into
    a 256-vector; a 1D convolution over time (kernel 3, padding 1) gives one score per frame;
    ReLU, then softmax over T gives the weights a_t of Eq. (1).

    Args:
        in_channels: D, channels of the frame feature maps (2048).
        map_size: `(h, w)` of the frame feature maps; the spatial kernel equals it.
        hidden: channels of the spatial conv (256, following [16]).
        form: Eq. (1) form, see `attention_pool`.
    """

    def __init__(
        self,
        in_channels: int,
        *,
        map_size: tuple[int, int],
        hidden: int = 256,
        form: Eq1Form = "reference",
    ) -> None:
        super().__init__()
        self.map_size = tuple(map_size)
        self.form = form
        self.spatial_conv = nn.Conv2d(in_channels, hidden, kernel_size=self.map_size)
        self.temporal_conv = nn.Conv1d(hidden, 1, kernel_size=3, padding=1)
        for conv in (self.spatial_conv, self.temporal_conv):
            nn.init.kaiming_normal_(conv.weight, a=0, mode="fan_in")
            nn.init.zeros_(conv.bias)

    def scores(self, maps: Tensor) -> Tensor:
        """Raw attention scores s_t >= 0 (before the softmax). `maps`: `(B, T, D, h, w)`."""
        b, t, d, h, w = maps.shape
        if (h, w) != self.map_size:
            raise ValueError(
                f"frame feature maps are {h}x{w} but the attention kernel was built for "
                f"{self.map_size[0]}x{self.map_size[1]}: build the network with the input size "
                "the frames have (input_size=(H, W))"
            )
        x = torch.relu(self.spatial_conv(maps.reshape(b * t, d, h, w)))  # `(B*T, 256, 1, 1)`
        x = x.reshape(b, t, -1).permute(0, 2, 1)  # `(B, 256, T)`
        return torch.relu(self.temporal_conv(x)).squeeze(1)  # s_t; `(B, T)`

    def forward(self, maps: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Returns the clip feature `(B, D)`, scores s `(B, T)` and weights a `(B, T)`."""
        s = self.scores(maps)
        a = torch.softmax(s, dim=1)  # a_t = exp(s_t) / Σ_t' exp(s_t')
        f = maps.mean(dim=(-2, -1))  # f_t = GAP(map_t); `(B, T, D)`
        return attention_pool(f, a, form=self.form), s, a


class TemporalAveragePooling(nn.Module):
    """Temporal average pooling: every frame weighs 1/T (the comparison baseline of [16]).

    Returns zero scores and uniform weights so that its output has the same fields as
    `TemporalAttention`; the erasing-attention loss is then identically zero.
    """

    def forward(self, maps: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        f = maps.mean(dim=(-2, -1))  # `(B, T, D)`
        b, t = f.shape[:2]
        a = f.new_full((b, t), 1.0 / t)
        return f.mean(dim=1), f.new_zeros((b, t)), a
