"""Test-time speed: dense clip embedding frames/s (fp32 against bf16), and the evaluator.

Embedding: `reidlib.evaluation.features.embed_tracklet` (dense non-overlapping clips of T = 4,
at most 41 clips, 32 clips per forward pass: the full profile's test settings) of ResNet50-IBN-a
at 224×112 over random tracklets already on the device, in fp32 and in bf16 autocast with
channels_last (the full profile), from the same weights; frames/s counts the frames of the dense
clips. Peak memory: torch.cuda.max_memory_allocated over the timed passes on CUDA, and
`measure_peak_memory` around one tracklet on every device. Evaluator: squared Euclidean
distances + CMC + mAP on `eval_speed.py`'s MARS-like features at MARS scale (1,980 queries ×
9,330 gallery tracklets, D = 2048) on the device. Target (GPU, full size): the evaluator under
0.2 s.

    venv/bin/python benchmarks/infer_speed.py --device cuda
    venv/bin/python benchmarks/infer_speed.py --device cpu --tiny
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from common import (
    default_out,
    judge_targets,
    machine_info,
    release_free_memory,
    resolve_benchmark_device,
    sync,
    write_results,
)
from eval_speed import mars_like, ours
from torch import Tensor, nn

from reidlib.config import load_profile
from reidlib.data import dense_clip_indices
from reidlib.evaluation.features import embed_tracklet
from reidlib.memory.footprint import measure_peak_memory
from reidlib.network import build_network

NAME = "infer_speed"
TARGET_EVAL_SECONDS = 0.2  # issue: the evaluator on CUDA at MARS scale
FULL = load_profile("full")
SIZES: dict[str, dict[str, Any]] = {
    "full": {
        "height": FULL.data.height,
        "width": FULL.data.width,
        "clip_len": FULL.data.clip_len,
        "max_clips": FULL.data.test_max_clips,
        "chunk": FULL.train.eval_chunk,
        "frames_per_tracklet": 164,  # 41 clips of 4: the longest tracklet the cap embeds whole
        "tracklets": 20,
        "num_classes": 625,
    },
    "tiny": {
        "height": 32,
        "width": 16,
        "clip_len": 4,
        "max_clips": 41,
        "chunk": 4,
        "frames_per_tracklet": 16,
        "tracklets": 2,
        "num_classes": 8,
    },
}
EVAL_SCALES = {
    "full": {"num_q": 1980, "num_g": 9330, "dim": 2048, "num_ids": 625, "num_distractors": 800},
    "tiny": {"num_q": 198, "num_g": 933, "dim": 2048, "num_ids": 62, "num_distractors": 80},
}
MODES = {
    "fp32": {"bf16": False, "channels_last": False},
    "bf16_channels_last": {"bf16": True, "channels_last": True},
}


def random_tracklets(*, size: dict[str, Any], device: torch.device, seed: int = 0) -> list[Tensor]:
    """`tracklets` random tracklets `(frames_per_tracklet, 3, H, W)` on `device`."""
    gen = torch.Generator().manual_seed(seed)
    shape = (size["frames_per_tracklet"], 3, size["height"], size["width"])
    return [torch.randn(shape, generator=gen).to(device) for _ in range(size["tracklets"])]


def embed_pass(
    net: nn.Module, tracklets: list[Tensor], *, size: dict[str, Any], bf16: bool
) -> Tensor:
    """Embeddings `(n, D)` of `tracklets` with the full profile's test settings."""
    device = next(net.parameters()).device
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        rows = [
            embed_tracklet(
                net,
                frames,
                clip_len=size["clip_len"],
                max_clips=size["max_clips"],
                chunk=size["chunk"],
            )
            for frames in tracklets
        ]
    return torch.stack(rows)


def time_embedding(
    name: str, *, size: dict[str, Any], device: torch.device, warmup: int, repeats: int
) -> tuple[dict[str, Any], Tensor]:
    """Frames/s and peak memory of dense embedding in one mode; also its embeddings (CPU)."""
    mode = MODES[name]
    torch.manual_seed(0)  # the same initial weights in every mode
    net = build_network(
        backbone=FULL.model.backbone,
        num_classes=size["num_classes"],
        input_size=(size["height"], size["width"]),
        last_stride=FULL.model.last_stride,
    )
    net.to(device).eval()
    if mode["channels_last"]:
        net.use_channels_last()
    tracklets = random_tracklets(size=size, device=device)
    clips = len(
        dense_clip_indices(
            size["frames_per_tracklet"], clip_len=size["clip_len"], max_clips=size["max_clips"]
        )
    )
    frames_per_pass = len(tracklets) * clips * size["clip_len"]

    def run() -> Tensor:
        return embed_pass(net, tracklets, size=size, bf16=mode["bf16"])

    sync(device)
    start = time.perf_counter()
    for _ in range(warmup):
        run()
    sync(device)
    warmup_s = time.perf_counter() - start
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        emb = run()
        sync(device)
        times.append(time.perf_counter() - start)
    peak_allocated = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    release_free_memory(device)
    extra_peak = measure_peak_memory(
        lambda: embed_pass(net, tracklets[:1], size=size, bf16=mode["bf16"]), device=device
    )
    median = statistics.median(times)
    result = {
        "mode": name,
        **mode,
        "warmup_passes": warmup,
        "warmup_s": warmup_s,
        "passes": repeats,
        "pass_s": times,
        "median_pass_s": median,
        "frames_per_pass": frames_per_pass,
        "clips_per_pass": len(tracklets) * clips,
        "frames_per_s": frames_per_pass / median,
        "tracklets_per_s": len(tracklets) / median,
        "peak_allocated_bytes": peak_allocated,
        "tracklet_extra_peak_bytes": extra_peak,
    }
    print(
        f"embedding {name}: {result['frames_per_s']:.0f} frames/s, median pass {median:.3f} s, "
        f"one tracklet's peak +{extra_peak / 2**20:.0f} MiB"
    )
    return result, emb.float().cpu()


def time_evaluator(*, scale: dict[str, int], device: torch.device, repeats: int) -> dict[str, Any]:
    """Seconds of distances + CMC + mAP on MARS-like features of `scale`, on `device`."""
    data = mars_like(device=device, **scale)
    ours(data)  # warm-up: thread pools, allocator, CUDA kernels
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device) if device.type == "cuda" else None
    times = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        _, cmc, mAP = ours(data)  # CMC and mAP come back as numpy: the device has finished
        times.append(time.perf_counter() - start)
    extra = torch.cuda.max_memory_allocated(device) - before if before is not None else None
    median = statistics.median(times)
    print(f"evaluator {scale['num_q']}x{scale['num_g']} on {device.type}: {median:.3f} s median")
    return {
        "scale": scale,
        "repeats": repeats,
        "total_s": times,
        "median_total_s": median,
        "extra_peak_allocated_bytes": extra,
        "results": {"rank1": float(cmc[0]), "mAP": float(mAP)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda | cuda:N | cpu")
    parser.add_argument("--tiny", action="store_true", help="small sizes for a CPU check")
    parser.add_argument("--warmup", type=int, help="untimed embedding passes (default 1)")
    parser.add_argument("--repeats", type=int, help="timed passes (full 3, tiny 1)")
    parser.add_argument("--eval-repeats", type=int, help="evaluator repeats (full 5, tiny 3)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--out", type=Path, help="default: results/infer_speed_<device>.json")
    args = parser.parse_args()
    device = resolve_benchmark_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    profile = "tiny" if args.tiny else "full"
    size = SIZES[profile]
    warmup = args.warmup if args.warmup is not None else 1
    repeats = args.repeats or (1 if args.tiny else 3)
    info = machine_info(device)

    modes, embeddings = {}, {}
    for name in MODES:
        modes[name], embeddings[name] = time_embedding(
            name, size=size, device=device, warmup=warmup, repeats=repeats
        )
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
    fp32 = modes["fp32"]
    for name, record in modes.items():
        record["speedup_vs_fp32"] = record["frames_per_s"] / fp32["frames_per_s"]
        cosine = F.cosine_similarity(embeddings[name], embeddings["fp32"], dim=1)
        record["embedding_cosine_vs_fp32_min"] = float(cosine.min())
    evaluator = time_evaluator(
        scale=EVAL_SCALES[profile],
        device=device,
        repeats=args.eval_repeats or (3 if args.tiny else 5),
    )
    result = {
        "benchmark": "dense test-time embedding per precision mode, and the evaluator",
        "figures": f"{profile} sizes on {device.type}"
        + ("; tiny CPU check, not comparable with the full profile" if args.tiny else ""),
        "machine": info,
        "sizes": {**size, "backbone": FULL.model.backbone, "profile": profile},
        "embedding": modes,
        "bf16_speedup_vs_fp32": modes["bf16_channels_last"]["speedup_vs_fp32"],
        "evaluator": evaluator,
        "targets": judge_targets(
            {"evaluator_median_s": (evaluator["median_total_s"], TARGET_EVAL_SECONDS, "at_most")},
            device=device,
            full_size=not args.tiny,
        ),
    }
    write_results(result, args.out or default_out(NAME, device))


if __name__ == "__main__":
    main()
