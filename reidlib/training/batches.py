"""The training batches of each epoch, every random choice derived from (seed, epoch).

The identity sampler fixes which tracklets fill each batch of epoch `e` from `(seed, e)`
(`RandomIdentitySampler`); `SeededBatches` then gives the clip at each position of the epoch
its own seed, `stream_seed(seed, e, position)`, which the dataset turns into the generator its
frame choice, flips, crops and erasing draw from (`ClipDraw`). A clip is therefore the same
whichever process or DataLoader worker makes it, a resumed run replays its remaining epochs
exactly, and no global random state is read or written.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Sampler

from reidlib.data.clip_dataset import ClipDraw, VideoDataset
from reidlib.data.sampler import RandomIdentitySampler
from reidlib.seeding import stream_seed
from reidlib.training.distributed import DistInfo, DistributedBatchSampler


class SeededBatches(Sampler[list[ClipDraw]]):
    """An identity batch sampler's batches with a seed for every clip.

    Args:
        sampler: the identity batch sampler (its batches are a function of (its seed, epoch)).
        seed: the run's seed, the first key of every clip's seed.
    """

    def __init__(self, sampler: RandomIdentitySampler, *, seed: int) -> None:
        self.sampler, self.seed, self.epoch = sampler, seed, 0

    @property
    def batch_size(self) -> int:
        return self.sampler.batch_size

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self) -> Iterator[list[ClipDraw]]:
        position = 0
        for batch in self.sampler:
            draws = []
            for index in batch:
                draws.append(ClipDraw(index, stream_seed(self.seed, self.epoch, position)))
                position += 1
            yield draws


class EpochBatches:
    """The batches `(clips, pids, camids, erased)` of each training epoch, for this process.

    Under torchrun every process walks the same global batches and takes its slice of each
    (`DistributedBatchSampler`); the clips' seeds come from their global positions, so the
    slices together are the batch one process would make.

    Args:
        dataset: the training clips.
        sampler: the identity batch sampler.
        seed: the run's seed.
        dist: the process layout (None: one process).
        num_workers: DataLoader worker processes (0: decode in this process).
        pin_memory: page-locked batches, for CUDA.
    """

    def __init__(
        self,
        dataset: VideoDataset,
        sampler: RandomIdentitySampler,
        *,
        seed: int,
        dist: DistInfo | None = None,
        num_workers: int = 0,
        pin_memory: bool = False,
    ) -> None:
        dist = dist or DistInfo()
        self.dataset, self.sampler = dataset, sampler
        self.seeded = SeededBatches(sampler, seed=seed)
        self.batches: Sampler = (
            DistributedBatchSampler(self.seeded, rank=dist.rank, world_size=dist.world_size)
            if dist.enabled
            else self.seeded
        )
        self.num_workers, self.pin_memory = num_workers, pin_memory

    def __len__(self) -> int:
        """Steps per epoch."""
        return len(self.seeded)

    def epoch(self, epoch: int) -> DataLoader:
        """The batches of 0-based `epoch`."""
        self.seeded.set_epoch(epoch)
        return DataLoader(
            self.dataset,
            batch_sampler=self.batches,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            # the loader's own draw (its workers' base seed), from (seed, epoch) as well: without
            # a generator it would take one from torch's global generator every epoch
            generator=torch.Generator().manual_seed(stream_seed(self.seeded.seed, epoch)),
        )

    def state_dict(self) -> dict[str, Any]:
        """The identity sampler's seed and epoch (`RandomIdentitySampler.state_dict`)."""
        return self.sampler.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sampler.load_state_dict(state)
