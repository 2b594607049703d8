"""Seeding and device choice. Nothing is seeded at import; callers seed explicitly.

Training draws every random number from generators derived from the run's seed and passed down
(`stream_seed`): identity batches, frame choice, flips, crops and erasing. Only what torch's
module constructors draw (initial weights) comes from torch's global generator, and
`seeded` scopes that to one block, leaving the global state as it was.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

import numpy as np
import torch


def seed_everything(seed: int) -> torch.Generator:
    """Seeds Python, NumPy and torch (CPU and CUDA) and returns a generator to pass on."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 -- the legacy global RNG other code draws from
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Inside the block torch's global CPU generator starts from `seed`; afterwards it is back
    where it was. For what only draws from the global generator: `nn.Module` constructors."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def stream_seed(*keys: int) -> int:
    """A 63-bit seed that depends only on `keys` (e.g. run seed, epoch, position in the epoch),
    mixed by NumPy's `SeedSequence` so that nearby keys give unrelated streams."""
    state = np.random.SeedSequence(list(keys)).generate_state(1, dtype=np.uint64)[0]
    return int(state) & (2**63 - 1)


def resolve_device(name: str = "auto") -> torch.device:
    """`"auto"` picks CUDA when available, else CPU; `"cpu"`, `"cuda"`, `"cuda:1"` are taken as is."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"--device {name!r}: expected auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"--device {name!r}: CUDA is not available on this machine; use cpu or auto"
        )
    return device
