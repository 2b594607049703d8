"""What `make run PROFILE=full` trains, counted: each notebook's new runs, their optimiser steps,
evaluations, test clips and FLOPs, on the real datasets' sizes.

`benchmarks/full_cost.py` turns the FLOPs into hours on one H100, `benchmarks/gpu_check.py`
measured seconds per frame into hours. Steps per epoch come from `RandomIdentitySampler` (one pass over the
shuffled training identities, `C` a batch, the incomplete batch dropped), evaluations from the
trainer's rule (every `eval_every` epochs and after the last), test clips from
`dense_clip_indices` (T-frame clips, at most `test_max_clips` a tracklet). FLOPs are counted by
`torch.utils.flop_counter.FlopCounterMode` on the meta device (shapes only, the same count as a
CPU run's): convolutions and matrix products, 2 FLOPs a multiply-add; normalisations,
activations, the losses' elementwise work and the optimiser updates are left out.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch.utils.flop_counter import FlopCounterMode

from reidlib import paper
from reidlib.config import TABLE5_CELLS, TABLE_ROWS, RunConfig, load_profile, table5_chain
from reidlib.data import RandomIdentitySampler, dense_clip_indices
from reidlib.losses import build_loss
from reidlib.network import build_network
from reidlib.network.backbone import OUT_CHANNELS
from reidlib.training import run_dir
from reidlib.what_matters import ROWS


@dataclass(frozen=True, kw_only=True)
class DatasetSize:
    """What a run's cost depends on in a real dataset (split 0 for PRID2011 and iLIDS-VID)."""

    train_ids: int  # identities of the training split (the sampler's unit)
    query: int  # query tracklets evaluated
    gallery: int  # gallery tracklets evaluated
    test_length: int  # frames per test tracklet, for counting its dense clips
    test_length_note: str  # where `test_length` comes from


MARS_TEST_FRAMES, MARS_TEST_TRACKLETS = 681_089, 12_180  # bbox_test, junk rows included
LONGEST = "the longest sequence (§IV-A), so every tracklet fills the clip cap: an upper bound"
DATASET_SIZES: dict[str, DatasetSize] = {
    # 625 train ids, 1,980 query and 9,330 gallery tracklets (junk dropped); the length
    # distribution is not at hand, so every test tracklet gets the mean test length
    "mars": DatasetSize(
        train_ids=625,
        query=1980,
        gallery=9330,
        test_length=round(MARS_TEST_FRAMES / MARS_TEST_TRACKLETS),
        test_length_note=f"the mean test tracklet length ({MARS_TEST_FRAMES:,} frames / "
        f"{MARS_TEST_TRACKLETS:,} tracklets, junk included) for every tracklet: the 41-clip "
        "cap, which only tracklets over 164 frames reach, is not felt, so the count errs high",
    ),
    # 178 persons seen by both cameras, 89 train / 89 test; cam_a queries, cam_b gallery
    "prid2011": DatasetSize(
        train_ids=89,
        query=89,
        gallery=89,
        test_length=int(paper.DATASETS_IV_A["prid2011"]["max_len"] or 0),
        test_length_note=LONGEST,
    ),
    # 300 persons, 150 train / 150 test; cam1 queries, cam2 gallery
    "ilidsvid": DatasetSize(
        train_ids=150,
        query=150,
        gallery=150,
        test_length=int(paper.DATASETS_IV_A["ilidsvid"]["max_len"] or 0),
        test_length_note=LONGEST,
    ),
}


@dataclass(frozen=True, kw_only=True)
class Flops:
    """FLOPs of one piece of work, by kind of operation."""

    convolution: int  # aten.convolution and its backward
    matmul: int  # every other counted op (mm, addmm, bmm)

    @property
    def total(self) -> int:
        return self.convolution + self.matmul

    def __add__(self, other: Flops) -> Flops:
        return Flops(
            convolution=self.convolution + other.convolution, matmul=self.matmul + other.matmul
        )

    def times(self, n: int) -> Flops:
        """This work done `n` times."""
        return Flops(convolution=n * self.convolution, matmul=n * self.matmul)


NO_FLOPS = Flops(convolution=0, matmul=0)


def count_flops(work: Callable[[], None]) -> Flops:
    """FLOPs of `work()` as `FlopCounterMode` counts them."""
    counter = FlopCounterMode(display=False)
    with counter:
        work()
    ops = counter.get_flop_counts()["Global"]
    conv = sum(n for op, n in ops.items() if "convolution" in str(op))
    return Flops(convolution=conv, matmul=sum(ops.values()) - conv)


@functools.cache
def _counted(shape: RunConfig, num_classes: int) -> tuple[Flops, Flops]:
    data, model = shape.data, shape.model
    with torch.device("meta"):  # shapes only
        net = build_network(
            backbone=model.backbone,
            num_classes=num_classes,
            input_size=(data.height, data.width),
            temporal=model.temporal,
            last_stride=model.last_stride,
            eq1_form=model.eq1_form,
        )
        criterion = build_loss(shape.loss, num_classes=num_classes, feature_dim=OUT_CHANNELS)
    c, k, t = data.num_ids_per_batch, data.num_instances, data.clip_len
    with torch.device("meta"):
        clips = torch.empty(c * k, t, 3, data.height, data.width)
        pids = torch.arange(c).repeat_interleave(k) % num_classes  # C ids x K tracklets
        erased = torch.zeros(c * k, t)

    def step() -> None:
        net.train()
        criterion(net(clips), pids, erased)[0].backward()

    def embed() -> None:
        net.eval()
        with torch.no_grad():
            net.embed(clips[:1])

    return count_flops(step), count_flops(embed)


def run_flops(cfg: RunConfig, *, num_classes: int) -> tuple[Flops, Flops]:
    """FLOPs of one optimiser step (forward, Eq. (13) loss, backward at the run's `B`, `T` and
    size) and of one dense test clip through `embed`; counted once per network and shape."""
    model, data = cfg.model, cfg.data
    shape = load_profile("full").with_overrides(
        model={k: getattr(model, k) for k in ("backbone", "temporal", "last_stride", "eq1_form")},
        data={
            k: getattr(data, k)
            for k in ("height", "width", "clip_len", "num_ids_per_batch", "num_instances")
        },
    )
    return _counted(shape, num_classes)


@dataclass(frozen=True, kw_only=True)
class RunCost:
    """Counts and FLOPs of one training run on its real dataset."""

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
        return self.clip_flops.times(self.test_clips)

    def flops(self) -> Flops:
        """Training and the run's own evaluations."""
        return self.train_step_flops.times(self.steps) + self.evaluation_flops().times(
            self.evaluations
        )


def run_cost(label: str, cfg: RunConfig) -> RunCost:
    """The counts and FLOPs of training `cfg` on its real dataset."""
    size, data, train = DATASET_SIZES[cfg.data.dataset], cfg.data, cfg.train
    sampler = RandomIdentitySampler(
        range(size.train_ids),
        num_ids_per_batch=data.num_ids_per_batch,
        num_instances=data.num_instances,
    )
    clips = dense_clip_indices(size.test_length, clip_len=data.clip_len, max_clips=data.test_clips)
    step, clip = run_flops(cfg, num_classes=size.train_ids)
    return RunCost(
        label=label,
        dataset=data.dataset,
        digest=cfg.digest(),
        epochs=train.epochs,
        steps_per_epoch=len(sampler),
        clips_per_step=sampler.batch_size,
        clip_len=data.clip_len,
        evaluations=sum(
            1 for e in range(1, train.epochs + 1) if e % train.eval_every == 0 or e == train.epochs
        ),
        test_clips=(size.query + size.gallery) * len(clips),
        train_step_flops=step,
        clip_flops=clip,
    )


def _full(dataset: str, preset: str | None = None) -> RunConfig:
    return load_profile("full", dataset=dataset, preset=preset)


def chain_run(chain: tuple[str, ...]) -> RunConfig:
    """The last run of a Table V chain (`table5_chain`): each link the full profile's base run
    on its dataset, started from the previous link's last checkpoint."""
    cfg = _full(chain[0])
    for dataset in chain[1:]:
        start = {"init_checkpoint": str(run_dir(cfg) / "last.pt")}
        cfg = _full(dataset).with_overrides(train=start)
    return cfg


def notebook_runs(dataset: str = "mars") -> dict[str, list[tuple[str, RunConfig]]]:
    """Every run each notebook asks for under `PROFILE=full` with `DATASET=dataset`, in the
    order the notebooks ask; a run asked for twice (same dataset and digest) is trained once."""
    base = _full(dataset)
    ablations = {"03_backbone": "I", "04_clip_length": "III", "05_batch_size": "IV"}
    transfer = [("MARS source", _full("mars"))]  # 06 trains it first
    for row, target in sorted(TABLE5_CELLS, key=lambda cell: len(table5_chain(*cell))):
        chain = table5_chain(row, target)  # shorter chains first: their runs are sources
        listed = {(c.data.dataset, c.digest()) for _, c in transfer}
        sources = [chain_run(chain[:i]) for i in range(1, len(chain))]
        transfer += [("source", c) for c in sources if (c.data.dataset, c.digest()) not in listed]
        transfer.append((f"{row} init", chain_run(chain)))
    seeded = (0, 1)  # the training seeds of 02 and 09 (their `SEEDS` parameter, "0-1")

    def over_seeds(row: str, cfg: RunConfig) -> list[tuple[str, RunConfig]]:
        return [  # the first seed's run is the one the other notebooks train
            (row if s == seeded[0] else f"{row}, seed {s}", cfg.with_overrides(train={"seed": s}))
            for s in seeded
        ]

    return {
        "02_training": over_seeds("base", base),
        **{
            notebook: [(row, _full(dataset, preset)) for row, preset in TABLE_ROWS[table].items()]
            for notebook, table in ablations.items()
        },
        "06_transfer_learning": transfer,
        "07_comparison_memory": [],  # one measured training step per network, no run
        "08_rank_lists": [("base", base)],
        "09_what_matters": [
            run for row, preset in ROWS.items() for run in over_seeds(row, _full(dataset, preset))
        ],
    }


# Evaluations of the base run a notebook makes outside training.
EXTRA_EVALUATIONS = {
    "02_training": "the untrained network, before training",
    "08_rank_lists": "the trained run once more, for its rank lists",
}


@dataclass(frozen=True, kw_only=True)
class NotebookCost:
    """What one notebook adds: the runs it trains (those an earlier notebook trained are read
    back) and its extra evaluations."""

    notebook: str
    trains: list[RunCost]
    reuses: list[str]  # labels of runs an earlier notebook trained
    extra_evaluations: dict[str, RunCost] = field(default_factory=dict)  # what -> run

    def flops(self) -> Flops:
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
    dataset: str = "mars", *, trained: dict[tuple[str, str], RunCost] | None = None
) -> list[NotebookCost]:
    """Notebooks 02-08 under `PROFILE=full` with `DATASET=dataset`: each one's new runs.

    Args:
        dataset: the notebooks' `DATASET`.
        trained: runs already trained, by `(dataset, config digest)` (e.g. by the notebooks
            with another `DATASET`); this plan's runs are added to it. None: nothing yet.
    """
    trained = {} if trained is None else trained
    base = (dataset, _full(dataset).digest())
    plan = []
    for notebook, runs in notebook_runs(dataset).items():
        trains, reuses = [], []
        for label, cfg in runs:
            key = (cfg.data.dataset, cfg.digest())
            if key in trained:
                same = trained[key].label
                reuses.append(label if same == label else f"{label} (= {same})")
                continue
            trained[key] = run_cost(label, cfg)
            trains.append(trained[key])
        extra = {why: trained[base] for n, why in EXTRA_EVALUATIONS.items() if n == notebook}
        plan.append(
            NotebookCost(notebook=notebook, trains=trains, reuses=reuses, extra_evaluations=extra)
        )
    return plan
