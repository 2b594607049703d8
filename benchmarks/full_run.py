"""A full-profile run on synthetic data of MARS scale, timed, and its 120-epoch prediction.

Generates (or reuses, `--data`) a synthetic dataset in the MARS layout with 1,250 people (625
train ids, so an epoch has MARS's 78 batches of 8 × 4) at 224×112, trains the full profile
(ResNet50-IBN-a, B = 32, T = 4, bf16 + channels_last unless `--fp32`) with
`reidlib.training.trainer.Trainer` for `--epochs` epochs, then runs one dense-clip evaluation.
From the measured epoch and evaluation times it predicts the paper's MARS run: 120 epochs and
one evaluation every 10 epochs (12), on this device. Synthetic test tracklets are shorter than
MARS's (median 10 frames against a mean of 59.5), so the evaluation is also scaled by the number
of dense clips (an approximation, stated in the JSON). Memory: peak during training and during
evaluation, beside Table II's columns (torchsummary's rule, `summary_footprint`).

    venv/bin/python benchmarks/full_run.py --device cuda --epochs 2 --workers 8
    venv/bin/python benchmarks/full_run.py --device cuda --epochs 2 --workers 8 --fp32
    venv/bin/python benchmarks/full_run.py --device cpu --tiny
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from common import (
    default_out,
    machine_info,
    release_free_memory,
    resolve_benchmark_device,
    sync,
    write_results,
)

from reidlib.config import load_profile
from reidlib.data import Mars, dense_clip_indices, ensure_synthetic, read_manifest
from reidlib.memory.footprint import MIB, count_parameters, measure_peak_memory, summary_footprint
from reidlib.training.trainer import Trainer

NAME = "full_run"
PAPER_EPOCHS = 120  # §IV-B
# MARS (docs/decisions.md §3, §5): 625 train ids -> 78 batches of 32; 1,980 query + 9,330 gallery
# tracklets of 59.5 frames on average (Gao's printout), so about ceil(59.5 / 4) = 15 dense clips
# each; the 41-clip cap and the spread of lengths are ignored, hence "approximate".
MARS_BATCHES_PER_EPOCH = 78
MARS_TEST_CLIPS_APPROX = (1980 + 9330) * math.ceil(59.5 / 4)
PAPER_TABLE_II_OURS_MB = {
    "input": 9.19,
    "forward_backward": 171.92,
    "params": 290.58,
    "total": 471.69,
}
DATA = {
    "full": {"num_ids": 1250, "image_size": (224, 112)},
    "tiny": {"num_ids": 8, "image_size": (32, 16)},
}
TINY_OVERRIDES = {
    "data": {"height": 32, "width": 16, "num_ids_per_batch": 2, "num_instances": 2},
    "train": {"eval_chunk": 8},
}


def dense_clip_count(tracklets: list, *, clip_len: int, max_clips: int | None) -> int:
    """Dense test clips of `tracklets` under the protocol (docs/decisions.md §4)."""
    return sum(
        len(dense_clip_indices(len(t.frames), clip_len=clip_len, max_clips=max_clips))
        for t in tracklets
    )


def peak_of(step, *, device: torch.device) -> dict[str, Any]:
    """Runs `step()` once; the memory it adds at its peak (and, on CUDA, the absolute peak)."""
    release_free_memory(device)
    extra = measure_peak_memory(step, device=device)
    absolute = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    return {
        "extra_peak_bytes": extra,
        "extra_peak_mib": extra / MIB,
        "peak_allocated_bytes": absolute,
        "peak_allocated_mib": absolute / MIB if absolute is not None else None,
        "method": "torch.cuda.max_memory_allocated (extra: minus allocated before)"
        if device.type == "cuda"
        else "measure_peak_memory: VmHWM reset through /proc/self/clear_refs minus VmRSS "
        "before, after malloc_trim; DataLoader workers are other processes and not counted",
    }


def table_ii(trainer: Trainer, *, height: int, width: int) -> dict[str, Any]:
    """Table II's columns by torchsummary's rule for this network, beside the paper's."""
    fp = summary_footprint(trainer.net, (2, 3, height, width))  # per-frame count: 2 suffice
    input_32 = 32 * 3 * height * width * 4 / MIB  # Table II's input: 32 float32 frames
    ours = {
        "input": input_32,
        "forward_backward": fp.forward_backward_mb,
        "params": fp.params_mb,
        "total": input_32 + fp.forward_backward_mb + fp.params_mb,
    }
    return {"ours_mb": ours, "paper_ours_mb": PAPER_TABLE_II_OURS_MB}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda | cuda:N | cpu")
    parser.add_argument("--tiny", action="store_true", help="few ids, small frames, 1 epoch")
    parser.add_argument("--epochs", type=int, help="epochs to time (full 2, tiny 1)")
    parser.add_argument("--workers", type=int, help="DataLoader workers (default: the profile's)")
    parser.add_argument("--fp32", action="store_true", help="fp32 eager instead of bf16 + CL")
    parser.add_argument(
        "--data",
        type=Path,
        help="synthetic MARS root: reused when it holds the same parameters, else generated "
        "there and kept (default: a temporary folder)",
    )
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--out", type=Path, help="default: results/full_run[_fp32]_<device>.json")
    args = parser.parse_args()
    device = resolve_benchmark_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    profile = "tiny" if args.tiny else "full"
    epochs = args.epochs or (1 if args.tiny else 2)
    info = machine_info(device)

    overrides: dict[str, dict[str, Any]] = {"data": {}, "train": {}}
    if args.tiny:
        overrides = {k: dict(v) for k, v in TINY_OVERRIDES.items()}
    if args.workers is not None:
        overrides["data"]["num_workers"] = args.workers
    elif args.tiny:
        overrides["data"]["num_workers"] = 0
    if args.fp32:
        overrides["train"].update(bf16=False, channels_last=False)

    with tempfile.TemporaryDirectory(prefix="reidlib-full-run-") as tmp:
        root = args.data or Path(tmp) / "mars"
        params = DATA[profile]
        start = time.perf_counter()
        ensure_synthetic(root, layout="mars", progress=False, **params)
        data_s = time.perf_counter() - start
        dataset = Mars(root)
        cfg = load_profile("full").with_overrides(
            data={**overrides["data"], "root": str(root)}, train=overrides["train"]
        )
        trainer = Trainer(cfg, dataset, device=device, progress=False)

        records: list[dict[str, Any]] = []

        def train() -> None:
            for epoch in range(epochs):
                records.append(trainer.train_epoch(epoch))
                sync(device)
                print(f"epoch {epoch + 1}: {records[-1]['train_seconds']:.1f} s")

        train_memory = peak_of(train, device=device)
        timing: dict[str, Any] = {}

        def evaluate() -> None:
            sync(device)
            start = time.perf_counter()
            timing["metrics"] = trainer.evaluate()
            sync(device)
            timing["seconds"] = time.perf_counter() - start

        eval_memory = peak_of(evaluate, device=device)
        print(f"evaluation: {timing['seconds']:.1f} s")
        clip_len, max_clips = cfg.data.clip_len, cfg.data.test_max_clips
        test_clips = dense_clip_count(
            list(dataset.query) + list(dataset.gallery), clip_len=clip_len, max_clips=max_clips
        )
        counts = {
            "train_ids": dataset.num_train_pids,
            "train_tracklets": len(dataset.train),
            "query_tracklets": len(dataset.query),
            "gallery_tracklets": len(dataset.gallery),
            "test_dense_clips": test_clips,
            "batches_per_epoch": len(trainer.sampler),
            "manifest_counts": read_manifest(root)["counts"],
        }
        footprint = table_ii(trainer, height=cfg.data.height, width=cfg.data.width)
        parameters = count_parameters(trainer.net)

    epoch_s = [r["train_seconds"] for r in records]
    steady_epoch_s = statistics.mean(epoch_s[1:]) if len(epoch_s) > 1 else epoch_s[0]
    evaluations = PAPER_EPOCHS // cfg.train.eval_every
    eval_s = timing["seconds"]
    predicted = PAPER_EPOCHS * steady_epoch_s + evaluations * eval_s
    epoch_scale = MARS_BATCHES_PER_EPOCH / counts["batches_per_epoch"]
    eval_scale = MARS_TEST_CLIPS_APPROX / test_clips
    predicted_mars = PAPER_EPOCHS * steady_epoch_s * epoch_scale + evaluations * eval_s * eval_scale
    result = {
        "benchmark": "full-profile training and evaluation on synthetic data of MARS scale",
        "figures": f"{profile} sizes on {device.type}"
        + ("; tiny CPU check, not comparable with the full profile" if args.tiny else ""),
        "machine": info,
        "config": cfg.to_dict(),
        "precision": "fp32 eager" if args.fp32 else "bf16 autocast + channels_last",
        "data": {
            "root": str(args.data) if args.data else "temporary",
            "synthetic_params": params,
            "prepare_s": data_s,
            "counts": counts,
        },
        "epochs_run": epochs,
        "epoch_s": epoch_s,
        "epoch_records": records,
        "steady_epoch_s": steady_epoch_s,
        "steady_epoch_note": "mean of the epochs after the first (which includes cuDNN "
        "autotuning and allocator growth) when more than one ran",
        "evaluation_s": eval_s,
        "metrics_after_run": timing["metrics"],
        "prediction": {
            "applies": not args.tiny,
            "applies_note": "tiny sizes: the formula applied to tiny timings, not a prediction "
            "of the paper's run"
            if args.tiny
            else "full profile at MARS scale on this device",
            "epochs": PAPER_EPOCHS,
            "evaluations": evaluations,
            "this_dataset_s": predicted,
            "this_dataset_h": predicted / 3600,
            "mars_scaled_s": predicted_mars,
            "mars_scaled_h": predicted_mars / 3600,
            "epoch_scale": epoch_scale,
            "evaluation_scale": eval_scale,
            "mars_test_clips_approx": MARS_TEST_CLIPS_APPROX,
            "note": "120 x steady epoch + 12 x evaluation. mars_scaled: epochs scaled to MARS's "
            "78 batches, evaluation scaled by dense clips (MARS: (1980 + 9330) tracklets x "
            "ceil(59.5 / 4) clips, approximate; the ranking step is scaled along with the "
            "embedding). Synthetic frames are decoded at 224x112, MARS's at 256x128.",
        },
        "memory": {
            "training": train_memory,
            "evaluation": eval_memory,
            "parameters": parameters,
            "table_ii": footprint,
        },
        "accuracy_note": "metrics after a few epochs from random weights; compare a run with "
        "--fp32 at the same epochs to see whether bf16 + channels_last changes accuracy",
    }
    print(
        f"steady epoch {steady_epoch_s:.1f} s, evaluation {eval_s:.1f} s; 120 epochs + "
        f"{evaluations} evaluations: {predicted / 3600:.2f} h on this dataset, "
        f"{predicted_mars / 3600:.2f} h scaled to MARS"
    )
    name = NAME + ("_fp32" if args.fp32 else "")
    write_results(result, args.out or default_out(name, device))


if __name__ == "__main__":
    main()
