"""A fast dev run: a profile or preset built exactly as a real run, trained for a few steps and
evaluated on a small subset, with a report of what it found (the name Lightning users know).

It is the cheap way to prove the paper-scale path before hours of training: the input size and
attention kernel, B = C × K, T, precision, the ImageNet file and how much of it loaded, seconds
per step, peak memory, the loss at the first and last step, and the dense-clip evaluation on
N query tracklets, their gallery matches and up to 10·N other gallery tracklets (fast on real
MARS too). It writes `config.json` and `report.json` to its own folder and no run into
`runs/`; a quick-profile run's stand-in backbone is pre-trained there once, as for any run.
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from reidlib.config import RunConfig
from reidlib.training.build import RUNS_ROOT, build_run
from reidlib.training.provenance import code_version
from reidlib.types import Tracklet

OTHERS_PER_QUERY = 10  # gallery tracklets of other identities per query in the subset


def dev_subset(
    query: Sequence[Tracklet], gallery: Sequence[Tracklet], n: int
) -> tuple[list[Tracklet], list[Tracklet]]:
    """The first `n` queries that have a true match (same pid, another camera), every gallery
    tracklet of their identities, and up to `10·n` other gallery tracklets, evenly spread."""
    chosen: list[Tracklet] = []
    for q in query:
        if any(g.pid == q.pid and g.camid != q.camid for g in gallery):
            chosen.append(q)
        if len(chosen) == n:
            break
    if not chosen:
        raise ValueError("no query tracklet has a true match in the gallery")
    pids = {q.pid for q in chosen}
    own = [g for g in gallery if g.pid in pids]
    others = [g for g in gallery if g.pid not in pids]
    stride = max(len(others) // (OTHERS_PER_QUERY * n), 1)
    return chosen, own + others[::stride][: OTHERS_PER_QUERY * n]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_memory(device: torch.device) -> dict[str, Any]:
    if device.type == "cuda":
        return {"peak_memory_gb": torch.cuda.max_memory_allocated(device) / 1e9, "kind": "CUDA"}
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Linux: kilobytes
    return {"peak_memory_gb": kb / 1e6, "kind": "process RSS"}


def fast_dev_run(
    cfg: RunConfig,
    *,
    steps: int,
    out_dir: Path,
    device: torch.device | str = "cpu",
    progress: bool = True,
    check_data: bool = True,
) -> dict[str, Any]:
    """Builds `cfg` as `reidlib train` would, trains `steps` steps, evaluates a subset, and
    writes `config.json` and `report.json` to `out_dir`. Returns the report."""
    if steps < 1:
        raise ValueError(f"--fast-dev-run takes a number of steps >= 1, got {steps}")
    # built as `reidlib train` builds it; the stand-in for ImageNet is pre-trained once into
    # runs/, as for a real run, and nothing else is written there (`fit` never runs)
    trainer = build_run(  # its out_dir is the report's: `fit` never runs, nothing goes to runs/
        cfg,
        device=device,
        runs_root=RUNS_ROOT,
        out_dir=out_dir,
        progress=progress,
        check_data=check_data,
    )
    cfg, dataset, device = trainer.cfg, trainer.dataset, trainer.device
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    losses, seconds = [], []
    epoch = 0
    while len(losses) < steps:
        trainer.model.train()
        for clips, pids, _, erased in trainer.epoch_loader(epoch):
            start = time.perf_counter()
            losses.append(trainer.train_step(clips, pids, erased)["total"])
            _sync(device)
            seconds.append(time.perf_counter() - start)
            if len(losses) == steps:
                break
        epoch += 1
    query, gallery = dev_subset(dataset.query, dataset.gallery, steps)
    start = time.perf_counter()
    evaluation = trainer.evaluate(query=query, gallery=gallery)
    _sync(device)
    data = cfg.data
    report = {
        "profile": cfg.name,
        "dataset": data.dataset,
        "root": data.root,
        "input_size": [data.height, data.width],
        "attention_kernel": list(getattr(trainer.net.temporal, "map_size", ())),
        "batch": {
            "num_ids_per_batch": data.num_ids_per_batch,
            "num_instances": data.num_instances,
            "clips": data.num_ids_per_batch * data.num_instances,
        },
        "clip_len": data.clip_len,
        "precision": cfg.train.precision,
        "channels_last": cfg.train.channels_last,
        "init": cfg.model.init,
        "weights": cfg.model.weights,
        "weights_tensors_loaded": trainer.weights_loaded,
        "device": str(device),
        "steps": steps,
        "seconds_per_step": seconds,
        "loss_first": losses[0],
        "loss_last": losses[-1],
        **_peak_memory(device),
        "evaluation": {
            "queries": len(query),
            "gallery": len(gallery),
            "max_clips": data.test_clips,
            "seconds": time.perf_counter() - start,
            **evaluation.metrics,
        },
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    config = {**cfg.to_dict(), "code": code_version()}
    (out_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (out_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def format_report(report: dict[str, Any], *, out_dir: Path) -> str:
    """The report as a few readable lines."""
    b, ev = report["batch"], report["evaluation"]
    h, w = report["input_size"]
    weights = (
        f"{report['weights']}: {report['weights_tensors_loaded']} tensors loaded"
        if report["weights"]
        else "none (random init)"
    )
    secs = report["seconds_per_step"]
    steady = secs[1:] or secs
    lines = [
        f"fast dev run of {report['profile']} on {report['dataset']} ({report['root']}), "
        f"{report['device']}",
        f"  input {h}x{w}, attention kernel {tuple(report['attention_kernel'])}, "
        f"B = {b['num_ids_per_batch']} x {b['num_instances']} = {b['clips']} clips, "
        f"T = {report['clip_len']}, precision {report['precision']}"
        + (", channels-last" if report["channels_last"] else ""),
        f"  weights {weights}",
        f"  {report['steps']} steps: {sum(steady) / len(steady):.2f} s/step "
        f"(first {secs[0]:.2f} s); loss {report['loss_first']:.4f} -> {report['loss_last']:.4f}",
        f"  peak memory {report['peak_memory_gb']:.2f} GB ({report['kind']})",
        f"  evaluation on {ev['queries']} queries and {ev['gallery']} gallery tracklets "
        f"(dense clips, cap {ev['max_clips']}): {ev['seconds']:.1f} s, "
        f"rank-1 {ev['rank1']:.1f}, mAP {ev['mAP']:.1f}",
        f"  wrote {out_dir / 'config.json'} and {out_dir / 'report.json'}",
    ]
    return "\n".join(lines)
