"""gpu_check, full-profile part: epochs and one evaluation on the synthetic MARS-sized dataset,
timed with the real loader, and what they predict for the paper's MARS run and for
`make run PROFILE=full`.

`Trainer.train_epoch` and `Trainer.evaluate` run exactly as in a notebook (the profile's
workers, pinned memory, a new loader each epoch). The prediction takes the last epoch's seconds
per training frame (the first also pays for start-up) and the evaluation's seconds per embedded
test frame, and multiplies them by the frames of every run `cost_plan.reproduction_plan` lists
(MARS's 78 steps of 32 clips × 4 frames an epoch, 120 epochs, 12 evaluations of about 158k
dense clips; T = 8 and B = 36 / 48 runs in proportion to their frames). Synthetic frames are
JPEGs of MARS's size; PRID2011 and iLIDS-VID store PNGs, whose decoding is not measured here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
from common import Deadline, sync
from cost_plan import NotebookCost, RunCost

from reidlib.config import RunConfig
from reidlib.data import dense_clip_indices
from reidlib.memory.footprint import MIB
from reidlib.training.trainer import Trainer


def time_full_profile(
    cfg: RunConfig,
    dataset: Any,
    *,
    precision: str,
    epochs: int,
    device: torch.device,
    deadline: Deadline,
    rec: dict[str, Any],
    save: Callable[[], None],
) -> None:
    """Trains `epochs` epochs of `cfg` in `precision` on `dataset`, then evaluates once; the
    records go into `rec` as they come (each followed by `save()`)."""
    pcfg = cfg.with_overrides(train={"precision": precision})
    trainer = Trainer(pcfg, dataset, device=device, progress=False)
    data = pcfg.data
    rec.update(
        precision=precision,
        channels_last=pcfg.train.channels_last,
        num_workers=data.num_workers,
        steps_per_epoch=len(trainer.sampler),
        clips_per_step=data.num_ids_per_batch * data.num_instances,
        clip_len=data.clip_len,
        epochs=[],
    )
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for epoch in range(epochs):
        if deadline.passed:
            rec["stopped"] = f"time cap reached before epoch {epoch + 1}"
            save()
            return
        record = trainer.train_epoch(epoch)
        sync(device)
        keep = ("epoch", "lr", "total", "train_seconds")
        rec["epochs"].append({k: record[k] for k in keep})
        print(f"{precision}: epoch {epoch + 1} in {record['train_seconds']:.1f} s")
        save()
    if device.type == "cuda":
        rec["training_peak_allocated_mib"] = torch.cuda.max_memory_allocated(device) / MIB
    if deadline.passed:
        rec["stopped"] = "time cap reached before the evaluation"
        save()
        return
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    evaluation = trainer.evaluate()
    sync(device)
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated(device) / MIB if device.type == "cuda" else None
    tracklets = [*dataset.query, *dataset.gallery]
    clips = sum(
        len(
            dense_clip_indices(len(t.frames), clip_len=data.clip_len, max_clips=data.test_max_clips)
        )
        for t in tracklets
    )
    rec["evaluation"] = {
        "seconds": seconds,
        "tracklets": len(tracklets),
        "test_clips": clips,
        "test_frames": clips * data.clip_len,
        "peak_allocated_mib": peak,
        "metrics": evaluation.metrics,
        "metrics_note": "a network trained a few epochs from random weights on synthetic data",
    }
    print(f"{precision}: evaluation of {clips} clips in {seconds:.1f} s")
    save()


def measured_rates(rec: dict[str, Any]) -> dict[str, float] | None:
    """Seconds per training frame (the last epoch) and per test frame, or None if either is
    missing."""
    if not rec.get("epochs") or "evaluation" not in rec:
        return None
    epoch = rec["epochs"][-1]
    frames = rec["steps_per_epoch"] * rec["clips_per_step"] * rec["clip_len"]
    return {
        "train_s_per_frame": epoch["train_seconds"] / frames,
        "test_s_per_frame": rec["evaluation"]["seconds"] / rec["evaluation"]["test_frames"],
        "from_epoch": epoch["epoch"],
    }


def _train_h(run: RunCost, rates: dict[str, float]) -> float:
    return run.train_frames * rates["train_s_per_frame"] / 3600


def _evaluation_h(run: RunCost, rates: dict[str, float]) -> float:
    return run.test_frames * rates["test_s_per_frame"] / 3600


def predict(plan: list[NotebookCost], rates: dict[str, float]) -> dict[str, Any]:
    """Hours of every notebook's new runs and extra evaluations, of the whole plan, and of the
    paper's MARS run (02's base run), at the measured rates."""
    notebooks = {}
    for nb in plan:
        runs = {
            f"{r.label} ({r.dataset})": _train_h(r, rates) + r.evaluations * _evaluation_h(r, rates)
            for r in nb.trains
        }
        extra = sum(_evaluation_h(r, rates) for r in nb.extra_evaluations.values())
        notebooks[nb.notebook] = {"runs_h": runs, "total_h": sum(runs.values()) + extra}
    base = plan[0].trains[0]
    return {
        "mars_run_h": _train_h(base, rates) + base.evaluations * _evaluation_h(base, rates),
        "mars_run": f"{base.label}: {base.epochs} epochs x {base.steps_per_epoch} steps, "
        f"{base.evaluations} evaluations of {base.test_clips:,} clips",
        "make_run_full_h": sum(n["total_h"] for n in notebooks.values()),
        "notebooks": notebooks,
    }
