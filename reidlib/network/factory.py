"""`build_network`: the paper's model from a backbone name and the training-set size."""

from __future__ import annotations

from torch import nn

from reidlib.choices import Temporal, check_choice
from reidlib.network.backbone import OUT_CHANNELS, build_backbone, feature_map_size
from reidlib.network.bnneck import BNNeckHead
from reidlib.network.reid_net import VideoReIDNet
from reidlib.network.temporal_attention import (
    Eq1Form,
    TemporalAttention,
    TemporalAveragePooling,
)


def build_network(
    *,
    backbone: str = "resnet50_ibn_a",
    num_classes: int,
    input_size: tuple[int, int] = (224, 112),
    temporal: Temporal = "attention",
    last_stride: int = 1,
    eq1_form: Eq1Form = "reference",
    zero_init_residual: bool = False,
) -> VideoReIDNet:
    """Builds the network of Figure 1, randomly initialised (`load_pretrained` loads ImageNet
    weights into its `.backbone`).

    Args:
        backbone: `"resnet50_ibn_a"` (the paper's choice) or `"resnet50"` (Table I).
        num_classes: N, the number of training identities (625 for MARS).
        input_size: `(H, W)` of the frames; the attention kernel is derived from it
            ((14, 7) at 224×112).
        temporal: `"attention"` (Eq. 1) or `"average"` (temporal average pooling).
        last_stride: stride of layer4 (1 in the paper).
        eq1_form: `"reference"` (Σ a f) or `"paper"` ((1/T) Σ a f), see `attention_pool`.
        zero_init_residual: random initialisation with identity residual blocks (see
            `build_backbone`); the quick profile's from-scratch runs use it.
    """
    if num_classes < 1:
        raise ValueError(f"num_classes must be positive, got {num_classes}")
    check_choice(temporal, Temporal, what="temporal aggregation")
    encoder = build_backbone(
        backbone,
        last_stride=last_stride,
        zero_init_residual=zero_init_residual,
    )
    aggregate: nn.Module
    if temporal == "attention":
        size = feature_map_size(tuple(input_size), last_stride=last_stride)
        aggregate = TemporalAttention(OUT_CHANNELS, map_size=size, form=eq1_form)
    else:
        aggregate = TemporalAveragePooling()
    return VideoReIDNet(encoder, aggregate, BNNeckHead(OUT_CHANNELS, num_classes))
