"""The network: ResNet50(-IBN-a) frame encoder, temporal attention, BNNeck."""

from reidlib.network.backbone import (
    BACKBONES,
    build_backbone,
    feature_map_size,
    load_pretrained,
    unwrap_state_dict,
)
from reidlib.network.bnneck import BNNeckHead
from reidlib.network.factory import build_network
from reidlib.network.reid_net import VideoReIDNet
from reidlib.network.temporal_attention import (
    TemporalAttention,
    TemporalAveragePooling,
    attention_pool,
)

__all__ = [
    "BACKBONES",
    "BNNeckHead",
    "TemporalAttention",
    "TemporalAveragePooling",
    "VideoReIDNet",
    "attention_pool",
    "build_backbone",
    "build_network",
    "feature_map_size",
    "load_pretrained",
    "unwrap_state_dict",
]
