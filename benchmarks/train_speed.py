"""Training speed at the full profile: fp32 eager against bf16 autocast + channels_last.

Model throughput: `Trainer.train_step` (forward, the Eq. (13) loss, backward, Adam and the center
step) of ResNet50-IBN-a at 224×112, B = C × K = 8 × 4, T = 4, N = 625 classes, on random clips
already on the device, so that the data pipeline does not enter. Modes, each from the same
initial weights on the same batches: fp32 eager; bf16 autocast + channels_last (the full
profile); with `--compile`, also torch.compile of the network. Warm-up steps (cuDNN autotuning,
compilation) are timed apart and excluded. Peak memory per mode: torch.cuda.max_memory_allocated
over the timed steps on CUDA, and `reidlib.memory.footprint.measure_peak_memory` around one more
step on every device. Data pipeline: the training loader's frames/s (decode + train transform +
identity batches) on a synthetic MARS-layout dataset with each `--workers` setting, printed beside
the model's frames/s, so it shows whether the GPU would wait for data. Target (GPU, full size):
the fastest mode at least 2× fp32 eager clips/s. Accuracy is not judged here: the first-step loss
of each mode (same weights, same batch) is recorded, and `full_run.py` with and without `--fp32`
compares rank-1 and mAP.

    venv/bin/python benchmarks/train_speed.py --device cuda --compile
    venv/bin/python benchmarks/train_speed.py --device cpu --tiny
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

import torch
from common import (
    default_out,
    judge_targets,
    machine_info,
    release_free_memory,
    resolve_benchmark_device,
    sync,
    time_loader,
    write_results,
)
from torch import Tensor

from reidlib.config import RunConfig, load_profile
from reidlib.data import Mars, VideoDataset, build_train_transform, make_synthetic
from reidlib.memory.footprint import count_parameters, measure_peak_memory
from reidlib.training.trainer import Trainer
from reidlib.types import Tracklet

NAME = "train_speed"
TARGET_SPEEDUP = 2.0  # issue: at least 2x the fp32 eager throughput on the same GPU
# full: the paper's training shape (docs/decisions.md §3); tiny: seconds per step on a small CPU
SIZES = {
    "full": {
        "height": 224,
        "width": 112,
        "clip_len": 4,
        "num_ids_per_batch": 8,
        "num_instances": 4,
        "num_classes": 625,
    },
    "tiny": {
        "height": 32,
        "width": 16,
        "clip_len": 4,
        "num_ids_per_batch": 2,
        "num_instances": 2,
        "num_classes": 8,
    },
}
# loader dataset: synthetic MARS layout at MARS's native frame size (full) or a small one (tiny)
LOADER_DATA = {"full": {"image_size": (256, 128)}, "tiny": {"num_ids": 8, "image_size": (32, 16)}}
MODES = {
    "fp32_eager": {"bf16": False, "channels_last": False, "compile": False},
    "bf16_channels_last": {"bf16": True, "channels_last": True, "compile": False},
    "bf16_channels_last_compile": {"bf16": True, "channels_last": True, "compile": True},
}


class ShapeOnlyDataset(NamedTuple):
    """What `Trainer` reads from a dataset, with frame paths that are never opened."""

    train: list[Tracklet]
    query: list[Tracklet]
    gallery: list[Tracklet]
    num_train_pids: int


def shape_only_dataset(*, num_classes: int, per_id: int) -> ShapeOnlyDataset:
    """`num_classes` identities with `per_id` tracklets each; steps get their clips directly."""
    unused = (Path("never-read.jpg"),)
    train = [Tracklet(unused, pid, 0) for pid in range(num_classes) for _ in range(per_id)]
    return ShapeOnlyDataset(train, [], [], num_classes)


def random_batches(
    count: int, *, size: dict[str, int], device: torch.device, seed: int = 0
) -> list[tuple[Tensor, Tensor, Tensor]]:
    """`count` batches `(clips (B, T, 3, H, W), pids (B,), erased (B, T))` on `device`."""
    gen = torch.Generator().manual_seed(seed)
    c, k, t = size["num_ids_per_batch"], size["num_instances"], size["clip_len"]
    batches = []
    for i in range(count):
        clips = torch.randn(c * k, t, 3, size["height"], size["width"], generator=gen)
        first = (i * c) % (size["num_classes"] - c + 1)
        pids = torch.arange(first, first + c).repeat_interleave(k)  # C ids x K tracklets
        erased = (torch.rand(c * k, t, generator=gen) < 0.25).float()  # REA flags, Eq. (12)
        batches.append((clips.to(device), pids.to(device), erased.to(device)))
    return batches


def mode_config(size: dict[str, int], mode: dict[str, bool]) -> RunConfig:
    """The full profile at `size`, with the mode's bf16 and channels_last flags."""
    data = {k: v for k, v in size.items() if k != "num_classes"}
    train = {"bf16": mode["bf16"], "channels_last": mode["channels_last"]}
    return load_profile("full").with_overrides(data={**data, "num_workers": 0}, train=train)


def time_mode(
    name: str,
    *,
    size: dict[str, int],
    batches: list[tuple[Tensor, Tensor, Tensor]],
    warmup: int,
    steps: int,
    device: torch.device,
) -> dict[str, Any]:
    """Warm-up, then `steps` timed train steps of one mode; its peak memory and losses."""
    mode = MODES[name]
    cfg = mode_config(size, mode)
    dataset = shape_only_dataset(num_classes=size["num_classes"], per_id=size["num_instances"])
    trainer = Trainer(cfg, dataset, device=device, progress=False)
    if mode["compile"]:
        trainer.model = torch.compile(trainer.net)
    trainer.model.train()
    terms: list[dict[str, float]] = []

    def step(i: int) -> None:
        terms.append(trainer.train_step(*batches[i % len(batches)]))

    sync(device)
    start = time.perf_counter()
    for i in range(warmup):
        step(i)
    sync(device)
    warmup_s = time.perf_counter() - start
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for i in range(warmup, warmup + steps):
        start = time.perf_counter()
        step(i)  # train_step returns floats, so it waits for the device
        times.append(time.perf_counter() - start)
    peak_allocated = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    release_free_memory(device)
    extra_peak = measure_peak_memory(lambda: step(warmup + steps), device=device)
    clips = size["num_ids_per_batch"] * size["num_instances"]
    median = statistics.median(times)
    result = {
        "mode": name,
        **mode,
        "warmup_steps": warmup,
        "warmup_s": warmup_s,
        "steps": steps,
        "step_s": times,
        "median_step_s": median,
        "clips_per_s": clips / median,
        "frames_per_s": clips * size["clip_len"] / median,
        "peak_allocated_bytes": peak_allocated,
        "peak_allocated_method": "torch.cuda.max_memory_allocated over the timed steps "
        "(weights, Adam state and activations)"
        if peak_allocated is not None
        else None,
        "step_extra_peak_bytes": extra_peak,
        "step_extra_peak_method": "reidlib.memory.footprint.measure_peak_memory around one "
        + (
            "step (max_memory_allocated - allocated before)"
            if device.type == "cuda"
            else "step after malloc_trim (VmHWM reset through /proc/self/clear_refs, minus VmRSS "
            "before)"
        ),
        "loss_first_step": terms[0]["total"],
        "loss_terms_first_step": terms[0],
        "losses": [t["total"] for t in terms],
        "parameters": count_parameters(trainer.net),
    }
    print(
        f"{name}: {result['clips_per_s']:.1f} clips/s ({result['frames_per_s']:.0f} frames/s), "
        f"median step {median:.3f} s, warm-up {warmup_s:.1f} s, "
        f"step peak +{extra_peak / 2**20:.0f} MiB"
    )
    return result


def time_loaders(
    *,
    size: dict[str, int],
    tiny: bool,
    data: Path | None,
    workers: list[int],
    batches: int,
    device: torch.device,
) -> dict[str, Any]:
    """Training loader frames/s per worker count, on `data` or a new synthetic MARS dataset."""
    with tempfile.TemporaryDirectory(prefix="reidlib-train-speed-") as tmp:
        root, generated = data, None
        if root is None:
            params = LOADER_DATA["tiny" if tiny else "full"]
            start = time.perf_counter()
            root = make_synthetic(Path(tmp) / "mars", layout="mars", progress=False, **params)
            generated = {"params": params, "seconds": time.perf_counter() - start}
        train = Mars(root).train
        hw = (size["height"], size["width"])
        dataset = VideoDataset(
            train, clip_len=size["clip_len"], transform=build_train_transform(size=hw)
        )
        runs = [
            time_loader(
                dataset,
                pids=[t.pid for t in train],
                num_workers=w,
                batches=batches,
                main_threads=1,
                num_ids_per_batch=size["num_ids_per_batch"],
                num_instances=size["num_instances"],
                clip_len=size["clip_len"],
                pin_memory=device.type == "cuda",
            )
            for w in workers
        ]
    return {
        "what": "decode JPEG + train transform (resize, flip, pad, crop, normalise, random "
        "erasing), restricted random T frames, C x K identity batches; workers run torch with "
        "one thread, the main process is timed with one",
        "dataset": str(data) if data is not None else "synthetic MARS layout (temporary)",
        "generated": generated,
        "train_tracklets": len(train),
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda | cuda:N | cpu")
    parser.add_argument("--tiny", action="store_true", help="small sizes for a CPU check")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    parser.add_argument("--warmup", type=int, help="untimed steps per mode (full 5, tiny 1)")
    parser.add_argument("--steps", type=int, help="timed steps per mode (full 20, tiny 2)")
    parser.add_argument("--workers", type=int, nargs="+", help="loader workers to time")
    parser.add_argument("--loader-batches", type=int, help="timed batches (full 40, tiny 4)")
    parser.add_argument("--data", type=Path, help="a MARS-layout root for the loader timing")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--out", type=Path, help="default: results/train_speed_<device>.json")
    args = parser.parse_args()
    device = resolve_benchmark_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    profile = "tiny" if args.tiny else "full"
    size = SIZES[profile]
    warmup = args.warmup if args.warmup is not None else (1 if args.tiny else 5)
    steps = args.steps or (2 if args.tiny else 20)
    workers = args.workers or ([8, 12, 16] if device.type == "cuda" else [0, 2])
    loader_batches = args.loader_batches or (4 if args.tiny else 40)
    info = machine_info(device)

    batches = random_batches(4, size=size, device=device)
    names = [n for n in MODES if args.compile or not MODES[n]["compile"]]
    modes = {}
    for name in names:
        # compilation happens in the first steps: give it at least two before timing
        extra = 2 if MODES[name]["compile"] else 0
        modes[name] = time_mode(
            name, size=size, batches=batches, warmup=warmup + extra, steps=steps, device=device
        )
        gc.collect()  # the mode's trainer is gone: free its memory before the next one
        if device.type == "cuda":
            torch.cuda.empty_cache()
        if MODES[name]["compile"]:
            torch._dynamo.reset()
    fp32 = modes["fp32_eager"]
    for record in modes.values():
        record["speedup_vs_fp32"] = record["clips_per_s"] / fp32["clips_per_s"]
        record["loss_first_step_rel_diff_vs_fp32"] = (
            abs(record["loss_first_step"] - fp32["loss_first_step"]) / fp32["loss_first_step"]
        )
        if record["peak_allocated_bytes"] is not None:
            record["peak_allocated_ratio_vs_fp32"] = (
                record["peak_allocated_bytes"] / fp32["peak_allocated_bytes"]
            )
    fastest = max(modes.values(), key=lambda r: r["clips_per_s"])

    loader = time_loaders(
        size=size,
        tiny=args.tiny,
        data=args.data,
        workers=workers,
        batches=loader_batches,
        device=device,
    )
    best_loader = max(r["frames_per_s"] for r in loader["runs"])
    for name, record in modes.items():
        print(
            f"model {name}: {record['frames_per_s']:.0f} frames/s | loader best: "
            f"{best_loader:.0f} frames/s"
        )
    comparison = {
        "model_frames_per_s": {n: r["frames_per_s"] for n, r in modes.items()},
        "loader_frames_per_s": {str(r["num_workers"]): r["frames_per_s"] for r in loader["runs"]},
        "best_loader_frames_per_s": best_loader,
        "loader_over_fastest_model": best_loader / fastest["frames_per_s"],
        "device_waits_for_data": best_loader < fastest["frames_per_s"],
        "note": "measured apart; in training the loader's workers and the main process share "
        "the CPU, so the combined rate is at most the smaller of the two",
    }
    result = {
        "benchmark": "training throughput per precision mode, and the training loader",
        "figures": f"{profile} sizes on {device.type}"
        + ("" if not args.tiny else "; tiny CPU check, not comparable with the full profile"),
        "machine": info,
        "sizes": {
            **size,
            "batch_clips": size["num_ids_per_batch"] * size["num_instances"],
            "backbone": load_profile("full").model.backbone,
            "profile": profile,
        },
        "modes": modes,
        "fastest_mode": fastest["mode"],
        "speedup_fastest_vs_fp32": fastest["speedup_vs_fp32"],
        "loader": loader,
        "data_vs_model": comparison,
        "accuracy": {
            "judged_here": False,
            "loss_terms_first_step": {n: r["loss_terms_first_step"] for n, r in modes.items()},
            "how": "same initial weights and batch in every mode, so the first-step loss terms "
            "(before any update) differ by precision alone; accuracy: full_run.py with and "
            "without --fp32 after the same epochs",
        },
        "targets": judge_targets(
            {"speedup_fastest_vs_fp32": (fastest["speedup_vs_fp32"], TARGET_SPEEDUP, "at_least")},
            device=device,
            full_size=not args.tiny,
        ),
    }
    write_results(result, args.out or default_out(NAME, device))


if __name__ == "__main__":
    main()
