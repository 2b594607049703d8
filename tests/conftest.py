"""Shared fixtures. Tests are deterministic: every random tensor comes from a seeded generator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from reidlib.data import make_synthetic, synthetic_params
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


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory) -> Callable[..., Path]:
    """`synthetic_root(layout, **params)`: the root of the synthetic dataset `make_synthetic`
    writes for these parameters, generated the first time a test asks for it and shared by
    every later test of the session that asks for the same one (parameters left at their
    defaults count as given). Read-only: a test that damages frames copies the root first."""
    folder = tmp_path_factory.mktemp("synthetic")
    roots: dict[str, Path] = {}

    def get(layout: str = "mars", **params: Any) -> Path:
        key = repr(synthetic_params(layout, **params))  # the checked parameters, defaults filled
        if key not in roots:
            root = folder / f"{layout}-{len(roots)}"
            roots[key] = make_synthetic(root, layout=layout, progress=False, **params)
        return roots[key]

    return get
