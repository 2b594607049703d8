"""The runs a full reproduction trains, counted: per notebook under `PROFILE=full`, the runs it
trains, their optimiser steps, evaluations, test clips and FLOPs.

Shared by `full_cost.py` (hours on one H100, predicted from FLOPs) and `gpu_check.py` (hours
predicted from a measured epoch and evaluation). FLOPs are counted with
`torch.utils.flop_counter.FlopCounterMode` on the meta device: the network and its losses run on
shapes alone, so one training step at B = 32, T = 4, 224×112 (forward, the Eq. (13) loss,
backward) is counted exactly, the same count as a CPU run's, in about a second. The counter
counts convolutions and matrix products (2 FLOPs per multiply-add) and nothing else:
normalisations, activations, the losses' elementwise work and the Adam and center-loss updates
are left out (they are bound by memory bandwidth, not by the tensor cores).

Steps per epoch come from `reidlib.data.RandomIdentitySampler` (one pass over the shuffled
training identities, `C` a batch, the incomplete batch dropped), evaluations per run from the
trainer's rule (every `eval_every` epochs and after the last), test clips per evaluation from
`reidlib.data.dense_clip_indices` (T-frame clips, at most 41 a tracklet) on the real datasets'
sizes in `DATASET_SIZES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from reidlib import paper
from reidlib.config import TABLE_ROWS, RunConfig, load_profile
from reidlib.data import RandomIdentitySampler, dense_clip_indices
from reidlib.losses import ReIDLoss
from reidlib.network import build_network
from reidlib.network.backbone import OUT_CHANNELS
from reidlib.training.runner import run_dir


@dataclass(frozen=True)
class DatasetSize:
    """What a run's cost depends on in a real dataset (split 0 for PRID2011 and iLIDS-VID).

    Attributes:
        train_ids: identities in the training split (the sampler's unit).
        query: query tracklets evaluated.
        gallery: gallery tracklets evaluated.
        test_length: frames per test tracklet used to count its dense clips.
        test_length_note: where `test_length` comes from.
    """

    train_ids: int
    query: int
    gallery: int
    test_length: int
    test_length_note: str


MARS_TEST_FRAMES, MARS_TEST_TRACKLETS = 681_089, 12_180  # bbox_test, junk rows included
# PRID2011 and iLIDS-VID give only a range of sequence lengths (§IV-A)
LONGEST_SEQUENCE = (
    "the longest sequence (§IV-A), so every tracklet fills the 41-clip cap: an upper bound"
)
DATASET_SIZES: dict[str, DatasetSize] = {
    # MARS: 625 train ids (8,298 tracklets), 1,980 query, 9,330 gallery (junk dropped); the
    # length distribution is not at hand, so every test tracklet gets the mean test length
    "mars": DatasetSize(
        train_ids=625,
        query=1980,
        gallery=9330,
        test_length=round(MARS_TEST_FRAMES / MARS_TEST_TRACKLETS),
        test_length_note=f"the mean test tracklet length ({MARS_TEST_FRAMES:,} frames / "
        f"{MARS_TEST_TRACKLETS:,} tracklets, junk included), given to every tracklet: the "
        "41-clip cap, which only tracklets over 164 frames reach, is not felt, so the count "
        "errs high",
    ),
    # PRID2011: 178 persons seen by both cameras, 89 train / 89 test; cam_a queries, cam_b
    # gallery. Only the range of lengths is known, so every sequence is taken to fill the cap.
    "prid2011": DatasetSize(
        train_ids=89,
        query=89,
        gallery=89,
        test_length=int(paper.DATASETS_IV_A["prid2011"]["max_len"]),  # type: ignore[arg-type]
        test_length_note=LONGEST_SEQUENCE,
    ),
    # iLIDS-VID: 300 persons, 150 train / 150 test; cam1 queries, cam2 gallery
    "ilidsvid": DatasetSize(
        train_ids=150,
        query=150,
        gallery=150,
        test_length=int(paper.DATASETS_IV_A["ilidsvid"]["max_len"]),  # type: ignore[arg-type]
        test_length_note=LONGEST_SEQUENCE,
    ),
}


@dataclass(frozen=True)
class Flops:
    """FLOPs of one piece of work, split by the kind of operation."""

    convolution: int  # aten.convolution and its backward
    matmul: int  # every other counted op (mm, addmm, bmm)

    @property
    def total(self) -> int:
        return self.convolution + self.matmul

    def __add__(self, other: Flops) -> Flops:
        return Flops(self.convolution + other.convolution, self.matmul + other.matmul)

    def times(self, n: int) -> Flops:
        """This work done `n` times."""
        return Flops(n * self.convolution, n * self.matmul)


NO_FLOPS = Flops(0, 0)


def count_flops(work: Callable[[], None]) -> Flops:
    """FLOPs of `work()` as `FlopCounterMode` counts them."""
    counter = FlopCounterMode(display=False)
    with counter:
        work()
    ops = counter.get_flop_counts()["Global"]
    conv = sum(n for op, n in ops.items() if "convolution" in str(op))
    return Flops(convolution=conv, matmul=sum(ops.values()) - conv)


def _meta_network(cfg: RunConfig, num_classes: int) -> tuple[torch.nn.Module, ReIDLoss]:
    """The run's network and loss on the meta device (shapes only)."""
    loss_kwargs = asdict(cfg.loss)
    loss_kwargs.pop("center_lr")
    with torch.device("meta"):
        net = build_network(
            backbone=cfg.model.backbone,
            num_classes=num_classes,
            input_size=(cfg.data.height, cfg.data.width),
            temporal=cfg.model.temporal,
            last_stride=cfg.model.last_stride,
            eq1_form=cfg.model.eq1_form,
        )
        criterion = ReIDLoss(num_classes, OUT_CHANNELS, **loss_kwargs)
    return net, criterion


def train_step_flops(cfg: RunConfig, *, num_classes: int) -> Flops:
    """One optimiser step's forward, Eq. (13) loss and backward at the run's `B`, `T` and size."""
    net, criterion = _meta_network(cfg, num_classes)
    data = cfg.data
    c, k, t = data.num_ids_per_batch, data.num_instances, data.clip_len
    with torch.device("meta"):
        clips = torch.empty(c * k, t, 3, data.height, data.width)
        pids = torch.arange(c).repeat_interleave(k) % num_classes  # C ids x K tracklets
        erased = torch.zeros(c * k, t)

    def step() -> None:
        net.train()
        total, _ = criterion(net(clips), pids, erased)
        total.backward()

    return count_flops(step)


def embedding_flops(cfg: RunConfig, *, num_classes: int) -> Flops:
    """One dense test clip of `T` frames through `embed` in eval mode."""
    net, _ = _meta_network(cfg, num_classes)
    data = cfg.data
    clip = torch.empty(1, data.clip_len, 3, data.height, data.width, device="meta")

    def embed() -> None:
        net.eval()
        with torch.no_grad():
            net.embed(clip)

    return count_flops(embed)


def steps_per_epoch(cfg: RunConfig, size: DatasetSize) -> int:
    """Batches the identity sampler yields in one epoch (it depends on the identities only)."""
    sampler = RandomIdentitySampler(
        list(range(size.train_ids)),
        num_ids_per_batch=cfg.data.num_ids_per_batch,
        num_instances=cfg.data.num_instances,
    )
    return len(sampler)


def evaluations_per_run(cfg: RunConfig) -> int:
    """Evaluations `Trainer.fit` makes: every `eval_every` epochs and after the last."""
    epochs, every = cfg.train.epochs, cfg.train.eval_every
    return sum(1 for e in range(1, epochs + 1) if e % every == 0 or e == epochs)


def test_clips(cfg: RunConfig, size: DatasetSize) -> int:
    """Dense clips of one evaluation: query and gallery tracklets of `size.test_length`."""
    per_tracklet = dense_clip_indices(
        size.test_length, clip_len=cfg.data.clip_len, max_clips=cfg.data.test_max_clips
    )
    return (size.query + size.gallery) * len(per_tracklet)


# ------------------------------------------------------------------ the notebooks' runs


def _config(dataset: str, preset: str | None = None, **sections: dict[str, Any]) -> RunConfig:
    """The full profile's configuration of a notebook's run (as `NotebookRun.config` builds it)."""
    return load_profile("full", dataset=dataset, preset=preset).with_overrides(**sections)


def _from(source: RunConfig) -> dict[str, dict[str, Any]]:
    """Overrides that start a run from `source`'s last checkpoint (Table V)."""
    return {"train": {"init_checkpoint": str(run_dir(source) / "last.pt")}}


TABLE_V = TABLE_ROWS["V"]


def notebook_runs(dataset: str = "mars") -> dict[str, list[tuple[str, RunConfig]]]:
    """Every run each notebook asks for under `PROFILE=full` with `DATASET=dataset`, in the
    order the notebooks call them (`nb.train`, `nb.ablation`); a run asked for twice (same
    dataset and config digest) is trained once and read back after."""
    base = _config(dataset)
    mars = _config("mars")
    prid, ilids = "prid2011", "ilidsvid"
    ilids_from_mars = _config(ilids, TABLE_V["MARS"], **_from(mars))
    return {
        "02_training": [("base", base)],
        **{
            notebook: [(row, _config(dataset, preset)) for row, preset in TABLE_ROWS[table].items()]
            for notebook, table in (
                ("03_backbone", "I"),
                ("04_clip_length", "III"),
                ("05_batch_size", "IV"),
            )
        },
        "06_transfer_learning": [
            ("MARS source", mars),
            ("ImageNet init", _config(prid, TABLE_V["ImageNet"])),
            ("ImageNet init", _config(ilids, TABLE_V["ImageNet"])),
            ("MARS init", _config(prid, TABLE_V["MARS"], **_from(mars))),
            ("MARS init", ilids_from_mars),
            (
                "MARS + iLIDS-VID init",
                _config(prid, TABLE_V["MARS + iLIDS-VID"], **_from(ilids_from_mars)),
            ),
        ],
        "07_comparison_memory": [],  # one measured training step per network, no run
        "08_rank_lists": [("base", base)],
    }


# Evaluations of the base run a notebook makes outside `Trainer.fit`.
EXTRA_EVALUATIONS = {
    "02_training": "the untrained network, before training",
    "08_rank_lists": "the trained run once more, for its rank lists",
}


@dataclass(frozen=True)
class RunCost:
    """Counts and FLOPs of one training run."""

    label: str
    dataset: str
    digest: str
    epochs: int
    steps_per_epoch: int
    clips_per_step: int
    clip_len: int
    evaluations: int
    test_clips: int  # per evaluation
    train_step_flops: Flops
    clip_flops: Flops  # one dense test clip

    @property
    def steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    @property
    def train_frames(self) -> int:
        """Frames through forward and backward in the whole run."""
        return self.steps * self.clips_per_step * self.clip_len

    @property
    def test_frames(self) -> int:
        """Frames embedded by one evaluation."""
        return self.test_clips * self.clip_len

    def evaluation_flops(self) -> Flops:
        """One evaluation: every dense test clip through `embed`."""
        return self.clip_flops.times(self.test_clips)

    def flops(self) -> Flops:
        """Training plus the run's own evaluations."""
        return self.train_step_flops.times(self.steps) + self.evaluation_flops().times(
            self.evaluations
        )


class CostModel:
    """Counts runs, caching FLOP counts per network and batch shape."""

    def __init__(self) -> None:
        self._flops: dict[tuple[Any, ...], tuple[Flops, Flops]] = {}

    def run(self, label: str, cfg: RunConfig) -> RunCost:
        """The counts and FLOPs of training `cfg` on its real dataset."""
        size = DATASET_SIZES[cfg.data.dataset]
        data, model = cfg.data, cfg.model
        key = (
            model.backbone,
            data.height,
            data.width,
            data.clip_len,
            data.num_ids_per_batch,
            data.num_instances,
            size.train_ids,
        )
        if key not in self._flops:
            self._flops[key] = (
                train_step_flops(cfg, num_classes=size.train_ids),
                embedding_flops(cfg, num_classes=size.train_ids),
            )
        step, clip = self._flops[key]
        return RunCost(
            label=label,
            dataset=data.dataset,
            digest=cfg.digest(),
            epochs=cfg.train.epochs,
            steps_per_epoch=steps_per_epoch(cfg, size),
            clips_per_step=data.num_ids_per_batch * data.num_instances,
            clip_len=data.clip_len,
            evaluations=evaluations_per_run(cfg),
            test_clips=test_clips(cfg, size),
            train_step_flops=step,
            clip_flops=clip,
        )


@dataclass(frozen=True)
class NotebookCost:
    """What one notebook adds under `PROFILE=full`: the runs it trains (those an earlier
    notebook trained are read back) and its extra evaluations."""

    notebook: str
    trains: list[RunCost]
    reuses: list[str]  # labels of runs an earlier notebook trained
    extra_evaluations: dict[str, RunCost] = field(default_factory=dict)  # what -> run

    def flops(self) -> Flops:
        """Its runs' training and evaluations, and its extra evaluations."""
        total = NO_FLOPS
        for run in self.trains:
            total += run.flops()
        for run in self.extra_evaluations.values():
            total += run.evaluation_flops()
        return total

    @property
    def steps(self) -> int:
        return sum(r.steps for r in self.trains)

    @property
    def evaluations(self) -> int:
        return sum(r.evaluations for r in self.trains) + len(self.extra_evaluations)


def reproduction_plan(
    dataset: str = "mars",
    *,
    model: CostModel | None = None,
    trained: dict[tuple[str, str], RunCost] | None = None,
) -> list[NotebookCost]:
    """Notebooks 02-08 under `PROFILE=full` with `DATASET=dataset`: each one's new runs.

    Args:
        dataset: the notebooks' `DATASET` parameter.
        model: counts runs (and caches their FLOPs); a new one by default.
        trained: runs already trained, by `(dataset, config digest)`, e.g. by a plan for another
            `DATASET`; updated with this plan's runs. Empty by default.
    """
    model = model or CostModel()
    trained = {} if trained is None else trained
    base = (dataset, _config(dataset).digest())  # the run 02 and 08 evaluate once more
    plan = []
    for notebook, runs in notebook_runs(dataset).items():
        trains, reuses = [], []
        for label, cfg in runs:
            key = (cfg.data.dataset, cfg.digest())
            if key in trained:
                same = trained[key].label
                reuses.append(label if same == label else f"{label} (= {same})")
                continue
            trained[key] = model.run(label, cfg)
            trains.append(trained[key])
        extra = {why: trained[base] for n, why in EXTRA_EVALUATIONS.items() if n == notebook}
        plan.append(NotebookCost(notebook, trains, reuses, extra))
    return plan
