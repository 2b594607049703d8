"""Shared fixtures. Tests are deterministic: every random tensor comes from a seeded generator."""

from __future__ import annotations

import pytest
import torch

from reidlib.network import build_network

TINY_SIZE = (64, 32)  # frames small enough for CPU tests; feature maps 4×2


@pytest.fixture(scope="session")
def tiny_net_state() -> dict[str, torch.Tensor]:
    """State dict of a seeded ResNet50-IBN-a network for 5 ids at 64×32 (built once)."""
    torch.manual_seed(0)
    net = build_network(backbone="resnet50_ibn_a", num_classes=5, input_size=TINY_SIZE)
    return {k: v.clone() for k, v in net.state_dict().items()}


@pytest.fixture
def tiny_net(tiny_net_state):
    """A fresh copy of the seeded tiny network (tests may train or modify it)."""
    net = build_network(backbone="resnet50_ibn_a", num_classes=5, input_size=TINY_SIZE)
    net.load_state_dict(tiny_net_state)
    return net
