"""A plain PyTorch trainer for the paper's recipe (§III-B, §III-C, §IV-B).

It trains, evaluates and checkpoints what it is handed (`reidlib.training.build_run` builds
the parts): a `TrainingStep` (the network, the Eq. (13) loss, Adam and the centers' SGD), the
Eq. (2) schedule and the epoch batches, whose every random choice is a function of
(seed, epoch) alone (`EpochBatches`), so a run resumed from its last checkpoint replays the
remaining epochs exactly. Dense-clip evaluation every `eval_every` epochs, an epoch log and
resumable checkpoints.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor
from torch.optim.lr_scheduler import LRScheduler
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from reidlib.config import RunConfig
from reidlib.data import VideoReIDDataset
from reidlib.data.frame_cache import kept_frames
from reidlib.data.transforms import build_test_transform
from reidlib.evaluation import AttentionHealth, QueryOutcomes, attention_health
from reidlib.evaluation.protocol import TrackletEvaluation, evaluate_tracklets
from reidlib.progress import progress_bar
from reidlib.training.batches import EpochBatches
from reidlib.training.checkpoint import (
    TransferReport,
    link_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from reidlib.training.distributed import average_across_ranks
from reidlib.training.lock import run_lock
from reidlib.training.provenance import code_version
from reidlib.training.step import NonFiniteLossError, TrainingStep
from reidlib.types import Tracklet

LAST, BEST = "last.pt", "best.pt"


class Trainer:
    """Trains and evaluates one configuration with the parts it is handed.

    Args:
        cfg: the run configuration the parts were built from.
        step: the network with its loss and optimisers (`build_step`).
        scheduler: the learning-rate schedule of `step.optimizer`, stepped once an epoch.
        batches: the training batches of each epoch (`EpochBatches`).
        dataset: the loaded dataset (`.query`, `.gallery`, `.num_train_pids`).
        out_dir: where checkpoints (`last.pt`, `best.pt`), `history.jsonl` and `config.json`
            go when `fit` runs; None keeps everything in memory.
        progress: progress bars (on the main process only).
        weights_loaded: tensors the network took from its starting file (0: random or transfer).
        transfer: what a transfer run took from its source checkpoint (Table V), else None.
        frame_cache: where the dataset's test frames are kept decoded (`frames_dir`), so only
            the first evaluation of a test set at a size decodes it; None decodes every time.
    """

    def __init__(
        self,
        cfg: RunConfig,
        *,
        step: TrainingStep,
        scheduler: LRScheduler,
        batches: EpochBatches,
        dataset: VideoReIDDataset,
        out_dir: Path | str | None = None,
        progress: bool = True,
        weights_loaded: int = 0,
        transfer: TransferReport | None = None,
        frame_cache: Path | None = None,
    ) -> None:
        self.cfg, self.step, self.scheduler, self.batches = cfg, step, scheduler, batches
        self.frame_cache = frame_cache
        self.dataset = dataset
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.dist, self.device = step.dist, step.device
        self.net, self.model = step.net, step.model
        self.progress = progress and self.dist.is_main
        self.weights_loaded, self.transfer = weights_loaded, transfer
        self.size = (cfg.data.height, cfg.data.width)
        self.epoch = 0  # epochs completed
        self.history: list[dict[str, Any]] = []
        self.best_rank1 = -math.inf

    # ------------------------------------------------------------------ one step, one epoch

    def autocast(self) -> torch.autocast:
        return self.step.autocast()

    def train_step(self, clips: Tensor, pids: Tensor, erased: Tensor) -> dict[str, float]:
        """One optimisation step on a batch (`TrainingStep`); every loss term as a float."""
        return self.step(clips, pids, erased)

    def epoch_loader(self, epoch: int) -> DataLoader:
        """The training batches of 0-based `epoch`: `(clips, pids, camids, erased)`, a function
        of (seed, epoch) alone."""
        return self.batches.epoch(epoch)

    def train_epoch(self, epoch: int, *, bar: tqdm | None = None) -> dict[str, Any]:
        """Trains 0-based `epoch` and steps the schedule; returns the epoch's log record.

        Args:
            epoch: the epoch, from 0.
            bar: the run's progress bar, advanced by one per step (`fit` passes it).
        """
        self.model.train()
        lr = self.step.optimizer.param_groups[0]["lr"]
        sums: dict[str, float] = defaultdict(float)
        start, steps = time.perf_counter(), 0
        for step, (clips, pids, _, erased) in enumerate(self.epoch_loader(epoch), start=1):
            try:
                terms = self.train_step(clips, pids, erased)
            except NonFiniteLossError as err:
                raise NonFiniteLossError(
                    err.terms, err.values, epoch=epoch + 1, step=step
                ) from None
            for key, value in terms.items():
                sums[key] += value
            steps += 1
            if bar is not None:
                bar.update()
        self.scheduler.step()
        means = average_across_ranks({k: v / steps for k, v in sums.items()}, device=self.device)
        record = {
            "epoch": epoch + 1,
            "lr": lr,
            **means,
            "train_seconds": time.perf_counter() - start,
        }
        if self.device.type == "cpu":  # numbers move with the thread count (docs/decisions.md §3)
            record["threads"] = torch.get_num_threads()
        return record

    # ------------------------------------------------------------------ evaluation

    @torch.no_grad()
    def evaluate(
        self,
        *,
        query: Sequence[Tracklet] | None = None,
        gallery: Sequence[Tracklet] | None = None,
    ) -> TrackletEvaluation:
        """Dense-clip evaluation (docs/decisions.md §4): metrics, per-query ranks and features.
        Under DDP every process embeds its share of the tracklets and returns the same result.

        The dataset's whole test set is read from `frame_cache` when there is one and the
        decoded frames fit it (`fits_cache`; decoded there by the first evaluation; under DDP
        the first process to take the file's lock decodes, the others wait for it and read); a
        subset or a larger test set is decoded as given.

        Args:
            query, gallery: a subset of the dataset's (a fast dev run's); None = all of it.
        """
        frames = None
        if query is None and gallery is None:
            frames = kept_frames(
                [*self.dataset.query, *self.dataset.gallery],
                size=self.size,
                folder=self.frame_cache,
                workers=self.cfg.data.num_workers,
                progress=self.progress,
            )
        self.net.eval()
        try:
            with self.autocast():
                return evaluate_tracklets(
                    self.net,
                    self.dataset.query if query is None else query,
                    self.dataset.gallery if gallery is None else gallery,
                    transform=build_test_transform(size=self.size),
                    clip_len=self.cfg.data.clip_len,
                    max_clips=self.cfg.data.test_clips,
                    chunk=self.cfg.train.eval_chunk,
                    num_workers=self.cfg.data.num_workers,
                    progress=self.progress,
                    frames=frames,
                )
        finally:
            self.net.train()

    # ------------------------------------------------------------------ the loop

    def fit(self, *, resume: bool = True) -> list[dict[str, Any]]:
        """Trains to `cfg.train.epochs`, continuing from `out_dir/last.pt` when it holds a run
        of the same settings made by the same code (`code_version`); a finished one returns at
        once. The run folder is locked for the whole fit (`run_lock`): a second trainer of the
        same run waits for the first, then reuses what it trained."""
        if self.out_dir is None:
            return self._train_to_the_end()
        with run_lock(self.out_dir) if self.dist.is_main else contextlib.nullcontext():
            if self.dist.is_main:  # a write cut short by a killed process, never finished
                for partial in self.out_dir.glob(".*.pt.*.tmp"):
                    partial.unlink()
            if self.dist.enabled:
                dist.barrier()  # every process starts once the run folder is this run's
            if resume and (self.out_dir / LAST).is_file():
                self._resume(self.out_dir / LAST)
            if self.dist.is_main:
                config = {**self.cfg.to_dict(), "code": code_version()}
                (self.out_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
            return self._train_to_the_end()

    def _resume(self, path: Path) -> None:
        state = load_checkpoint(path)
        made_by = _made_by(state)
        if made_by != code_version():
            print(
                f"{path.parent}: made by other reidlib code (sources {made_by['sources']}, "
                f"now {code_version()['sources']}); training it again"
            )
            return
        self.restore(state, source=path)

    def _train_to_the_end(self) -> list[dict[str, Any]]:
        total = self.cfg.train.epochs
        if self.epoch >= total and self.out_dir is not None:
            if self.progress:
                print(f"{self.cfg.name}: read back from {self.out_dir} ({total} epochs)")
            return self.history
        per_epoch = len(self.batches)
        shown: dict[str, str] = {}  # the bar's postfix: epoch, its mean loss, last evaluation
        with progress_bar(
            desc=f"training {self.cfg.name}",
            initial=self.epoch * per_epoch,
            total=total * per_epoch,
            unit="step",
            disable=not self.progress,
        ) as bar:
            for epoch in range(self.epoch, total):
                record = self.train_epoch(epoch, bar=bar)
                shown |= {"epoch": f"{epoch + 1}/{total}", "loss": f"{record['total']:.3f}"}
                if (epoch + 1) % self.cfg.train.eval_every == 0 or epoch + 1 == total:
                    start = time.perf_counter()
                    evaluation = self.evaluate()  # every process embeds its share
                    record.update(evaluation.metrics)
                    record["queries"] = QueryOutcomes.from_result(evaluation.result).to_json()
                    record["eval_seconds"] = time.perf_counter() - start
                    shown |= {"rank1": f"{record['rank1']:.1f}", "mAP": f"{record['mAP']:.1f}"}
                if epoch + 1 == total and self.dist.is_main:
                    record["attention"] = self._attention_health(epoch).to_json()
                bar.set_postfix(shown)
                self.epoch = epoch + 1
                self.history.append(record)
                if self.dist.is_main and self.out_dir is not None:
                    self._write_outputs(record)
                if self.dist.enabled:
                    dist.barrier()
        return self.history

    def _attention_health(self, epoch: int) -> AttentionHealth:
        """`attention_health` of the network on the first two training batches of 0-based
        `epoch`: the same clips whenever the run is trained, fixed by its seed. This process
        alone, no collective call (docs/decisions.md §9)."""
        clips, erased = [], []
        for _, (batch, _, _, flags) in zip(range(2), self.epoch_loader(epoch)):
            clips.append(batch)
            erased.append(flags)
        return attention_health(
            self.net, torch.cat(clips), torch.cat(erased), chunk=self.cfg.train.eval_chunk
        )

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs: plain tensors, numbers and strings only."""
        return {
            "epoch": self.epoch,
            "config": json.dumps(self.cfg.to_dict()),
            "digest": self.cfg.digest(),
            "code": json.dumps(code_version()),
            "num_classes": self.dataset.num_train_pids,
            "model": self.net.state_dict(),
            "optimizer": self.step.optimizer.state_dict(),
            "center": self.step.criterion.center.state_dict(),
            "center_optimizer": self.step.center_optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "sampler": self.batches.state_dict(),
            "history": json.dumps(self.history),
            "best_rank1": self.best_rank1,
        }

    def restore(self, state: dict[str, Any], *, source: Path | str) -> None:
        """Restores a checkpoint (`load_checkpoint(source)`) written by a run with the same
        settings."""
        if state["digest"] != self.cfg.digest():
            raise ValueError(
                f"{source}: written by a run with other settings (config digest {state['digest']}, "
                f"this run {self.cfg.digest()}); use another out_dir or resume=False"
            )
        self.net.load_state_dict(state["model"])
        self.step.optimizer.load_state_dict(state["optimizer"])
        self.step.criterion.center.load_state_dict(state["center"])
        self.step.center_optimizer.load_state_dict(state["center_optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.batches.load_state_dict(state["sampler"])
        self.epoch = int(state["epoch"])
        self.history = json.loads(state["history"])
        self.best_rank1 = float(state["best_rank1"])

    def _write_outputs(self, record: dict[str, Any]) -> None:
        """Epoch log every epoch; `last.pt` every `checkpoint_every` epochs and at the end (a
        resumed run replays the epochs after it exactly); `best.pt` on a better rank-1."""
        assert self.out_dir is not None
        state = self.state_dict()
        best = "rank1" in record and record["rank1"] >= self.best_rank1  # a tie keeps the later
        if best:
            self.best_rank1 = record["rank1"]
            state["best_rank1"] = self.best_rank1
        every, total = self.cfg.train.checkpoint_every, self.cfg.train.epochs
        if self.epoch % every == 0 or self.epoch == total:
            save_checkpoint(state, self.out_dir / LAST)  # the file a resumed run starts from
            if best:  # the same bytes: a second name for the file, not a second write
                link_checkpoint(self.out_dir / LAST, self.out_dir / BEST)
        elif best:
            save_checkpoint(state, self.out_dir / BEST)
        lines = "".join(json.dumps(r) + "\n" for r in self.history)
        tmp = self.out_dir / "history.jsonl.tmp"
        tmp.write_text(lines)
        tmp.replace(self.out_dir / "history.jsonl")


def _made_by(state: dict[str, Any]) -> dict[str, Any]:
    """The `code_version` of the code that wrote a checkpoint."""
    return json.loads(state.get("code", "null")) or {"sources": "unknown"}


def finished(out_dir: Path | str, cfg: RunConfig) -> bool:
    """Whether `out_dir` holds a finished run of `cfg` made by this code: the run `fit` would
    read back instead of training. The checkpoint is memory-mapped, its tensors not read."""
    path = Path(out_dir) / LAST
    if not path.is_file():
        return False
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # damaged or cut short: not finished, `fit` says why
        return False
    return (
        isinstance(state, dict)
        and state.get("digest") == cfg.digest()
        and int(state.get("epoch", 0)) >= cfg.train.epochs
        and _made_by(state) == code_version()
    )
