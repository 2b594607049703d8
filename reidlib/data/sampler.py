"""`C × K` identity batches (open-reid's RandomIdentitySampler, docs/decisions.md §3 "Sampler")."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler


class RandomIdentitySampler(Sampler[list[int]]):
    """Batch sampler: `num_ids_per_batch` identities × `num_instances` tracklets each.

    Each epoch visits every identity once, in shuffled order, and takes `K` of its tracklets,
    with replacement only when it has fewer than `K`. Consecutive groups of `C` identities
    form a batch of `B = C·K` dataset indices; the incomplete last batch is dropped, so an
    epoch has `num_ids // C` batches (MARS: 625 ids, B = 32 -> 78).

    The batches of epoch `e` are a pure function of `(seed, e)`: call `set_epoch(e)` before
    iterating, as with torch's `DistributedSampler`, and a resumed run replays them exactly.

    Args:
        pids: the pid of every dataset item.
        num_ids_per_batch: `C`, identities per batch.
        num_instances: `K`, tracklets per identity.
        seed: base seed.
    """

    def __init__(
        self,
        pids: Sequence[int],
        *,
        num_ids_per_batch: int = 8,
        num_instances: int = 4,
        seed: int = 0,
    ) -> None:
        if num_ids_per_batch < 1 or num_instances < 1:
            raise ValueError(
                f"num_ids_per_batch and num_instances must be >= 1, got "
                f"{num_ids_per_batch} and {num_instances}"
            )
        groups: dict[int, list[int]] = defaultdict(list)
        for index, pid in enumerate(pids):
            groups[int(pid)].append(index)
        if len(groups) < num_ids_per_batch:
            raise ValueError(
                f"{len(groups)} identities cannot fill one batch of {num_ids_per_batch} "
                "identities; lower num_ids_per_batch"
            )
        self.index_by_pid = {pid: groups[pid] for pid in sorted(groups)}
        self.num_ids_per_batch = num_ids_per_batch
        self.num_instances = num_instances
        self.seed = seed
        self.epoch = 0

    @property
    def batch_size(self) -> int:
        """`B = C·K`."""
        return self.num_ids_per_batch * self.num_instances

    def set_epoch(self, epoch: int) -> None:
        """Selects the epoch whose batches the next iteration yields."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.index_by_pid) // self.num_ids_per_batch

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, self.epoch]))
        pids = list(self.index_by_pid)
        order = rng.permutation(len(pids))
        flat: list[int] = []
        for i in order.tolist():
            indices = self.index_by_pid[pids[i]]
            replace = len(indices) < self.num_instances
            chosen = rng.choice(len(indices), size=self.num_instances, replace=replace)
            flat.extend(indices[j] for j in chosen.tolist())
        batch = self.batch_size
        for start in range(0, len(self) * batch, batch):
            yield flat[start : start + batch]

    def state_dict(self) -> dict[str, int]:
        """The seed and epoch; with the same pids this fixes every later batch."""
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Restores `state_dict()`."""
        self.seed = int(state["seed"])
        self.epoch = int(state["epoch"])
