"""Seconds per training step of the quick profile on CPU, with and without its CPU speed-ups.

The quick profile (32×16, B = 32 clips × T = 4, ResNet50-IBN-a, last stride 1) runs layer3-4
on 2×1 maps, where oneDNN's convolution weight gradient is slow on CPU. Each set-up is a run of
`reidlib.training.build_run` from the same seeded random weights, timed on the same preloaded
batches of the synthetic MARS layout: `stock` (`train.cpu_im2col` off, Adam's default foreach
kernels), `im2col` (the im2col weight gradient of `reidlib.training.cpu_conv`, foreach Adam) and
`im2col_fused_adam` (as the quick profile ships: NCHW convolutions), and the same with
channels-last convolutions (`train.channels_last`, which the quick profile used before it was
measured slower on this CPU). It also checks on one batch that the stock and
im2col weight gradients agree. Writes `benchmarks/results/quick_step_cpu.json`.

    PYTHONPATH=. venv/bin/python benchmarks/quick_step.py   # about 1 min
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from pathlib import Path

import torch

from reidlib.benchmarking import result_header, write_result
from reidlib.config import load_profile
from reidlib.training import Trainer, build_run

RESULTS = Path(__file__).resolve().parent / "results" / "quick_step_cpu.json"
SETUPS = {  # name -> (train.cpu_im2col, fused Adam, train.channels_last)
    "stock": (False, False, False),
    "im2col": (True, False, False),
    "im2col_fused_adam": (True, True, False),
    "im2col_fused_adam_channels_last": (True, True, True),
}
# random weights: the time of a step does not depend on where training started
CONFIG = load_profile("quick").with_overrides(model={"init": "random"})


def build(dataset, *, im2col: bool, fused: bool, channels_last: bool = False) -> Trainer:
    """The quick run with the set-up's im2col switch, Adam kernels and memory format, from the
    seeded weights."""
    cfg = CONFIG.with_overrides(train={"cpu_im2col": im2col, "channels_last": channels_last})
    trainer = build_run(cfg, dataset, progress=False, check_data=False)
    if not fused:  # the same Adam with torch's default multi-tensor kernels
        params = [p for p in trainer.net.parameters() if p.requires_grad]
        train = cfg.train
        trainer.step.optimizer = torch.optim.Adam(
            params, lr=train.lr, weight_decay=train.weight_decay, foreach=True
        )
    return trainer


def weight_grads(trainer: Trainer, batch) -> dict[str, torch.Tensor]:
    """Every parameter's gradient of the Eq. (13) loss on one batch."""
    clips, pids, _, erased = batch
    step = trainer.step
    total, _ = step.compute_loss(step.model(clips), pids, erased)
    step.release_gradients()
    total.backward()
    return {n: p.grad.clone() for n, p in trainer.net.named_parameters() if p.grad is not None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8, help="timed steps per set-up")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    header = result_header(
        "quick-profile CPU step: stock, im2col, im2col + fused Adam, channels-last", device="cpu"
    )
    probe = build_run(CONFIG, progress=False, check_data=False)  # loads the synthetic data
    epochs = (batch for epoch in itertools.count() for batch in probe.epoch_loader(epoch))
    batches = list(itertools.islice(epochs, args.warmup + args.steps))  # one set for all
    results = {}
    for name, (im2col, fused, channels_last) in SETUPS.items():
        step = build(probe.dataset, im2col=im2col, fused=fused, channels_last=channels_last).step
        times = []
        for clips, pids, _, erased in batches:
            start = time.perf_counter()
            step(clips, pids, erased)
            times.append(time.perf_counter() - start)
        median = statistics.median(times[args.warmup :])
        results[name] = {"im2col": im2col, "fused_adam": fused, "channels_last": channels_last}
        results[name]["median_step_seconds"] = median
        results[name]["step_seconds"] = times[args.warmup :]
        print(f"{name:32s} {median:.3f} s/step")
    grads = {
        im2col: weight_grads(build(probe.dataset, im2col=im2col, fused=True), batches[0])
        for im2col in (False, True)
    }
    worst = max(
        ((grads[True][n] - g).abs().max() / g.abs().max().clamp_min(1e-12)).item()
        for n, g in grads[False].items()
    )
    stock, data = results["stock"]["median_step_seconds"], CONFIG.data
    result = {
        **header,
        "profile": "quick",
        "input": [data.height, data.width],
        "clips_per_step": data.num_ids_per_batch * data.num_instances,
        "clip_len": data.clip_len,
        "backbone": CONFIG.model.backbone,
        "warmup_steps": args.warmup,
        "timed_steps": args.steps,
        "setups": results,
        "speedup_over_stock": {n: stock / r["median_step_seconds"] for n, r in results.items()},
        "max_relative_weight_grad_difference_stock_vs_im2col": worst,
    }
    print(f"written to {write_result(result, args.out)}")


if __name__ == "__main__":
    main()
