"""Seeding and device choice. Nothing is seeded at import; callers seed explicitly."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> torch.Generator:
    """Seeds Python, NumPy and torch (CPU and CUDA) and returns a generator to pass on."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 -- the legacy global RNG other code draws from
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def epoch_seed(seed: int, epoch: int) -> int:
    """A seed that depends only on (run seed, epoch): what makes a resumed epoch replay exactly."""
    return (seed * 1_000_003 + epoch * 7_919 + 12_345) % 2**63


def resolve_device(name: str = "auto") -> torch.device:
    """`"auto"` picks CUDA when available, else CPU; `"cpu"`, `"cuda"`, `"cuda:1"` are taken as is."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} requested but CUDA is not available on this machine")
    return device
