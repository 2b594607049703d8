"""Seconds per training step of the quick profile on CPU, with and without its CPU speed-ups.

The quick profile (32×16 frames, B = 32 clips × T = 4, ResNet50-IBN-a, last stride 1) runs
layer3 and layer4 on 2×1 feature maps, where oneDNN's convolution weight gradient is slow on
CPU. This times `Trainer.train_step` on the same preloaded batches of the synthetic MARS layout
in three set-ups, each from the same seeded network:

- `stock`: every convolution through oneDNN (`reidlib.training.cpu_conv` im2col path off), Adam with
  torch's default multi-tensor (foreach) implementation;
- `im2col`: the im2col weight gradient on the tiny maps, foreach Adam;
- `im2col_fused_adam`: the trainer as it ships (im2col and fused Adam).

It also checks, on one batch, that the stock and im2col weight gradients agree. Writes
`benchmarks/results/quick_step_cpu.json`.

    venv/bin/python benchmarks/quick_step.py
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from common import RESULTS_DIR, machine_info, write_results
from torch.utils.data import DataLoader

import reidlib.training.cpu_conv as conv
from reidlib.config import load_profile
from reidlib.training.runner import load_dataset
from reidlib.training.trainer import Trainer

RESULTS = RESULTS_DIR / "quick_step_cpu.json"
SETUPS = {  # name -> (im2col on, fused Adam)
    "stock": (False, False),
    "im2col": (True, False),
    "im2col_fused_adam": (True, True),
}


def make_trainer(cfg, dataset, *, im2col: bool, fused: bool) -> Trainer:
    conv.IM2COL_MAX_POSITIONS = 2 if im2col else 0
    trainer = Trainer(cfg, dataset, progress=False)
    if not fused:
        params = [p for p in trainer.net.parameters() if p.requires_grad]
        trainer.step.optimizer = torch.optim.Adam(
            params, lr=cfg.train.lr, weight_decay=cfg.train.weight_decay, foreach=True
        )
    return trainer


def time_steps(trainer: Trainer, batches, *, warmup: int) -> list[float]:
    times = []
    for i, (clips, pids, _, erased) in enumerate(batches):
        start = time.perf_counter()
        trainer.train_step(clips, pids, erased)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return times


def weight_grads(trainer: Trainer, batch) -> dict[str, torch.Tensor]:
    clips, pids, _, erased = batch
    out = trainer.model(clips)
    total, _ = trainer.step.compute_loss(out, pids, erased)
    trainer.step.release_gradients()
    total.backward()
    return {n: p.grad.clone() for n, p in trainer.net.named_parameters() if p.grad is not None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8, help="timed steps per set-up")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    # random weights: the time of a step does not depend on where training started
    cfg = load_profile("quick").with_overrides(model={"init": "random"})
    dataset = load_dataset(cfg.data, progress=False)
    probe = Trainer(cfg, dataset, progress=False)
    probe._seed_epoch(0)
    batches = []
    while len(batches) < args.warmup + args.steps:  # the same batches for every set-up
        loader = DataLoader(probe.train_set, batch_sampler=probe.batch_sampler, num_workers=0)
        batches.extend(loader)
    batches = batches[: args.warmup + args.steps]

    results = {}
    for name, (im2col, fused) in SETUPS.items():
        trainer = make_trainer(cfg, dataset, im2col=im2col, fused=fused)
        times = time_steps(trainer, batches, warmup=args.warmup)
        results[name] = {
            "im2col": im2col,
            "fused_adam": fused,
            "median_step_seconds": statistics.median(times),
            "step_seconds": times,
        }
        print(f"{name:18s} {statistics.median(times):.3f} s/step")

    grads = {}
    for im2col in (False, True):
        grads[im2col] = weight_grads(
            make_trainer(cfg, dataset, im2col=im2col, fused=True), batches[0]
        )
    conv.IM2COL_MAX_POSITIONS = 2
    worst = max(
        ((grads[True][n] - g).abs().max() / g.abs().max().clamp_min(1e-12)).item()
        for n, g in grads[False].items()
    )
    stock = results["stock"]["median_step_seconds"]
    write_results(
        {
            "benchmark": "quick_step",
            "machine": machine_info(torch.device("cpu")),
            "profile": "quick",
            "input": [cfg.data.height, cfg.data.width],
            "clips_per_step": cfg.data.num_ids_per_batch * cfg.data.num_instances,
            "clip_len": cfg.data.clip_len,
            "backbone": cfg.model.backbone,
            "warmup_steps": args.warmup,
            "timed_steps": args.steps,
            "setups": results,
            "speedup_over_stock": {
                name: stock / r["median_step_seconds"] for name, r in results.items()
            },
            "max_relative_weight_grad_difference_stock_vs_im2col": worst,
        },
        args.out,
    )


if __name__ == "__main__":
    main()
