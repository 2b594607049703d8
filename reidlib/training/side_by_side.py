"""Runs trained side by side on a CPU: a speed-up for the quick profile, outside the model.

A quick run cannot keep two cores fully busy: its convolutions run on 8×4 to 2×1 feature maps,
where a second thread adds little, and it works on one thread between steps.
Several runs in several processes, one thread each, finish together sooner than one after the
other with two threads each (×1.06 for four quick runs on a 2-core AMD EPYC, docs/decisions.md
§3; the two stand-in pre-trainings, 176 s against 2 × 110 s). `train_side_by_side` trains the
runs of a list that are not finished yet that way when there are at least `MIN_RUNS` of them,
in child processes (`spawn`, as torch wants), each with its share of the parent's threads; the
caller then reads every run back (`reidlib.training.train`).

Which runs share the CPU changes no setting, but it changes the thread count of the runs that
do, and a run's numbers move with its thread count (the order of the sums, carried on through
training): the same run alone on two threads and beside another on one thread agree to within
about a point of rank-1 (`benchmarks/results/side_by_side.json`), not bit for bit. Each epoch's
record in the run's `history.jsonl` keeps the count (`threads`).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from reidlib.config import RunConfig, resolve_weights
from reidlib.config.profiles import PRETRAIN_DATA
from reidlib.data import ensure_synthetic
from reidlib.progress import progress_bar
from reidlib.training.build import RUNS_ROOT, run_dir
from reidlib.training.pretrain import (
    DATA_FOLDER,
    ensure_pretrained,
    pretrain_dir,
    pretrained,
    with_pretrained,
)
from reidlib.training.trainer import finished

# Fewer runs are trained one after the other: two side by side gain less than the children's
# start (importing torch) and the read-back cost, and a pair of unequal runs ends with the longer
# one alone on one thread (Table IV's B = 36 and 48: 94 s side by side, 90 s one after the other).
MIN_RUNS = 3
# Each child holds a dataset, a network, its optimiser and a test set's features: about 2 GB in
# the quick profile. Four at once stay within a laptop's memory.
MAX_PROCESSES = 4


def share_threads(runs: int, threads: int) -> tuple[int, int]:
    """How `threads` threads train `runs` runs: `(processes, threads each)`, one thread a
    process up to `MAX_PROCESSES` processes, never more processes than runs."""
    if runs < 1 or threads < 1:
        raise ValueError(f"share_threads needs runs and threads >= 1, got {runs} and {threads}")
    processes = min(runs, threads, MAX_PROCESSES)
    return processes, threads // processes


def unfinished(
    cfgs: Sequence[RunConfig], *, runs_root: Path | str = RUNS_ROOT, progress: bool = True
) -> list[RunConfig]:
    """The configurations of `cfgs` whose run folder (as `build_run` names it) holds no finished
    run of theirs, each once, in order. The quick profile's stand-in backbone is pre-trained here
    if it is missing (its file names the runs' folders)."""
    pending = []
    for cfg in dict.fromkeys(cfgs):
        resolved = with_pretrained(resolve_weights(cfg), runs_root=runs_root, progress=progress)
        if not finished(run_dir(resolved, runs_root), resolved):
            pending.append(cfg)
    return pending


def train_side_by_side(
    cfgs: Sequence[RunConfig],
    *,
    runs_root: Path | str = RUNS_ROOT,
    threads: int | None = None,
    progress: bool = True,
) -> int:
    """Trains on the CPU the runs of `cfgs` that are not finished, several at once in child
    processes that share `threads` threads (default torch's thread count in this process,
    `share_threads`); returns how many it trained. Nothing is trained in child processes when
    fewer than `MIN_RUNS` runs are pending or one thread is all there is: `train` in this process
    then does the work. An error in a run stops the others and is raised here."""
    if len(set(cfgs)) < MIN_RUNS:
        return 0  # not even worth looking for finished runs
    pending = unfinished(cfgs, runs_root=runs_root, progress=progress)
    jobs = [(cfg.to_dict(), str(runs_root)) for cfg in pending]
    return _side_by_side(
        _train_child, jobs, threads=threads, at_least=MIN_RUNS, what="runs", progress=progress
    )


def pretrain_side_by_side(
    cfgs: Sequence[RunConfig],
    *,
    runs_root: Path | str = RUNS_ROOT,
    threads: int | None = None,
    progress: bool = True,
) -> int:
    """Pre-trains the stand-in backbones that the runs of `cfgs` start from
    (`reidlib.training.pretrain.ensure_pretrained`, one per backbone) and that are missing,
    side by side as `train_side_by_side` trains runs; returns how many it pre-trained. The
    synthetic identities they share are generated here first."""
    missing = {
        pretrain_dir(cfg, runs_root=runs_root): cfg
        for cfg in cfgs
        if cfg.model.init == "synthetic" and not pretrained(cfg, runs_root=runs_root)
    }
    if len(missing) > 1:
        ensure_synthetic(Path(runs_root) / DATA_FOLDER, progress=progress, **PRETRAIN_DATA)
    jobs = [(cfg.to_dict(), str(runs_root)) for cfg in missing.values()]
    return _side_by_side(
        _pretrain_child,
        jobs,
        threads=threads,
        at_least=2,  # minutes each, alike: two gain from the start (180 s against 2 × 110 s)
        what="pre-trainings",
        progress=progress,
    )


def _side_by_side(
    function: Callable[[tuple[dict, str]], str],
    jobs: list[tuple[dict, str]],
    *,
    threads: int | None,
    at_least: int,
    what: str,
    progress: bool,
) -> int:
    threads = threads or torch.get_num_threads()
    if len(jobs) < at_least or threads < 2:
        return 0
    processes, each = share_threads(len(jobs), threads)
    context = multiprocessing.get_context("spawn")
    with (
        context.Pool(processes, initializer=_start_child, initargs=(each,)) as pool,
        progress_bar(
            total=len(jobs),
            desc=f"{what}, {processes} side by side ({each} thread{'s' * (each > 1)} each)",
            unit="run",
            disable=not progress,
        ) as bar,
    ):
        for _ in pool.imap_unordered(function, jobs):
            bar.update(1)
    return len(jobs)


def _start_child(threads: int) -> None:
    torch.set_num_threads(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)  # for anything started from the child


def _train_child(job: tuple[dict, str]) -> str:
    from reidlib.training.runner import train

    cfg, runs_root = RunConfig.from_dict(job[0]), job[1]
    trainer = train(cfg, runs_root=runs_root, device="cpu", progress=False, check_data=False)
    return str(trainer.out_dir)


def _pretrain_child(job: tuple[dict, str]) -> str:
    cfg, runs_root = RunConfig.from_dict(job[0]), job[1]
    return str(ensure_pretrained(cfg, runs_root=runs_root, progress=False))
