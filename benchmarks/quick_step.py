"""Seconds per training step of the quick profile on CPU, with and without its CPU speed-ups.

The quick profile (32×16, B = 32 clips × T = 4, ResNet50-IBN-a, last stride 1) runs layer3-4
on 2×1 maps, where oneDNN is slow on CPU: its convolution weight gradient above all, and the
batch norms of NCHW maps. Each set-up is a run of `reidlib.training.build_run` from the same
seeded random weights, timed on the same preloaded batches of the synthetic MARS layout:
`stock` (`train.cpu_im2col` off, NCHW, Adam's default foreach kernels), `stock_channels_last`
(the same, channels-last), `im2col` (the tiny-map weight gradient of
`reidlib.training.cpu_conv`, NCHW, foreach Adam), `im2col_fused_adam` (NCHW, fused Adam) and
`im2col_fused_adam_channels_last` (as the quick profile ships: channels-last, where cpu_conv
also computes layer3-4's 1×1 convolutions as matrix products). It also checks on one batch
one layer4 bottleneck's output and gradients against float64, stock and shipped. Writes
`benchmarks/results/quick_step_cpu.json`.

    PYTHONPATH=. venv/bin/python benchmarks/quick_step.py   # about 1 min
"""

from __future__ import annotations

import argparse
import copy
import itertools
import statistics
import time
from pathlib import Path

import torch

from reidlib.benchmarking import result_header, write_result
from reidlib.config import load_profile
from reidlib.network import build_network
from reidlib.training import Trainer, build_run
from reidlib.training.cpu_conv import use_im2col_weight_grad

RESULTS = Path(__file__).resolve().parent / "results" / "quick_step_cpu.json"
SETUPS = {  # name -> (train.cpu_im2col, fused Adam, train.channels_last)
    "stock": (False, False, False),
    "stock_channels_last": (False, False, True),
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


def block_grads(block: torch.nn.Module, x: torch.Tensor, grad_out: torch.Tensor, *, fast: bool):
    """The output and every gradient of one bottleneck, channels-last float32 with the stock
    convolutions or with `reidlib.training.cpu_conv`'s, or (`x` float64) NCHW float64."""
    block = copy.deepcopy(block).to(x.dtype)
    if x.dtype == torch.float32:
        block = block.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    if fast:
        use_im2col_weight_grad(block)
    x = x.clone().requires_grad_()
    out = block(x)
    out.backward(grad_out.to(x.dtype))
    grads = {n: p.grad for n, p in block.named_parameters()}
    return {"output": out.detach(), "input": x.grad, **grads}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8, help="timed steps per set-up")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    header = result_header(
        "quick-profile CPU step: stock, channels-last, im2col, fused Adam, the shipped set-up",
        device="cpu",
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
    # the whole network's gradients are no check: IBN-a's instance norms over 2×1 maps turn
    # rounding differences into large ones (docs/decisions.md §3); one bottleneck of layer4,
    # against the same in float64, is
    torch.manual_seed(0)
    block = build_network(num_classes=2, input_size=(32, 16)).backbone.layer4[0]
    x = torch.randn(128, block.conv1.in_channels, 2, 1, generator=torch.Generator().manual_seed(0))
    grad_out = torch.randn_like(block(x))
    exact = block_grads(block, x.double(), grad_out, fast=False)
    stock_cl = block_grads(block, x, grad_out, fast=False)
    shipped = block_grads(block, x, grad_out, fast=True)

    def deviation(got: dict, want: dict) -> float:
        return max(
            ((got[n].double() - g.double()).abs().max() / g.abs().max().clamp_min(1e-12)).item()
            for n, g in want.items()
        )

    # float32 rounding, amplified by the block's batch norms, against the exact gradients;
    # the shipped convolutions against the stock ones
    deviations = {
        "stock_channels_last_vs_float64": deviation(stock_cl, exact),
        "shipped_vs_float64": deviation(shipped, exact),
        "shipped_vs_stock_channels_last": deviation(shipped, stock_cl),
    }
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
        "layer4_block_max_relative_difference": deviations,
    }
    print(f"written to {write_result(result, args.out)}")


if __name__ == "__main__":
    main()
