"""Multi-GPU training with torch DistributedDataParallel, launched by torchrun.

Nothing here reimplements distribution: torchrun starts the processes and sets RANK /
WORLD_SIZE / LOCAL_RANK, `torch.distributed` connects them, DDP averages gradients. This module
only slices each global identity batch between the ranks and gathers the embeddings that the
ranked list loss compares across the whole global batch.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import Tensor
from torch.distributed.nn.functional import all_gather
from torch.utils.data import Sampler


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls) -> DistInfo:
        """Reads torchrun's environment; a plain `python` launch is a single process."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        return cls(
            rank=int(os.environ.get("RANK", "0")),
            world_size=world,
            local_rank=int(os.environ.get("LOCAL_RANK", "0")),
        )


# How long a collective may wait for the slowest process. Evaluation is shared by every process
# (`evaluate_tracklets`), so processes only wait on each other for a checkpoint write or an
# uneven last share; NCCL's default of 10 minutes would still be cut close by a slow file system.
TIMEOUT = timedelta(minutes=30)


def init_distributed(info: DistInfo, device: torch.device) -> None:
    """Joins the process group torchrun prepared (NCCL on CUDA, gloo on CPU), with `TIMEOUT`."""
    if info.enabled and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(
            backend=backend, rank=info.rank, world_size=info.world_size, timeout=TIMEOUT
        )


class DistributedBatchSampler(Sampler[list]):
    """This rank's share of each global batch of a batch sampler (`SeededBatches`).

    Every rank iterates the same global batches (the inner sampler is seeded by (seed, epoch)),
    and rank r takes the r-th contiguous slice of B / world_size items. Batches list the K
    tracklets of an identity together, so a slice keeps whole identities when
    B / world_size is a multiple of K.
    """

    def __init__(self, batch_sampler, *, rank: int, world_size: int) -> None:
        batch_size = batch_sampler.batch_size
        if batch_size % world_size:
            raise ValueError(f"batch size {batch_size} is not divisible by {world_size} processes")
        self.inner = batch_sampler
        self.rank = rank
        self.world_size = world_size
        self.per_rank = batch_size // world_size

    def set_epoch(self, epoch: int) -> None:
        self.inner.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.inner)

    def __iter__(self) -> Iterator[list]:
        lo = self.rank * self.per_rank
        for batch in self.inner:
            yield batch[lo : lo + self.per_rank]


def gather_with_grad(x: Tensor) -> Tensor:
    """Concatenates `x` from every rank along dim 0, keeping the autograd graph.

    The backward pass sums the gradients that every rank computes for each slice and returns
    them to the slice's owner; DDP's gradient averaging then gives exactly the gradient of a
    loss computed on the global batch.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    return torch.cat(all_gather(x), dim=0)


def gather(x: Tensor) -> Tensor:
    """Concatenates `x` from every rank along dim 0 (no gradient)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts, dim=0)


def average_across_ranks(values: dict[str, float], *, device: torch.device) -> dict[str, float]:
    """Means of logged scalars over the ranks (identity for one process)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return values
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return {k: float(v) / dist.get_world_size() for k, v in zip(keys, t.tolist())}
