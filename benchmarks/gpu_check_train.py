"""gpu_check, training part: `Trainer.train_step` throughput per precision mode, and memory.

Every mode starts from the same weights (the trainer seeds them from `train.seed`) and runs the
same steps on the same random batches already on the device, so the data pipeline does not
enter and the losses after the same steps differ by precision alone. A step is what the trainer
does: forward, the Eq. (13) loss, backward, Adam and the center-loss step, and the loss terms
read back as floats (which waits for the device). Peak memory per mode: on CUDA
`torch.cuda.max_memory_allocated` over the timed steps, and on every device
`reidlib.memory.footprint.measure_peak_memory` around one more step. Table II's memory columns
(torchsummary's rule, `reidlib.memory.measure.per_frame_footprint`) sit beside the paper's.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import torch
from common import Deadline, release_free_memory, sync
from torch import Tensor

from reidlib.config import RunConfig
from reidlib.memory.footprint import MIB, count_parameters, measure_peak_memory
from reidlib.memory.measure import per_frame_footprint, saved_activation_bytes
from reidlib.network import build_network
from reidlib.paper import TABLE_II
from reidlib.training.trainer import Trainer
from reidlib.types import Tracklet

# Precision modes, each a `train.precision` and `train.channels_last` of the trainer.
MODES = {
    "fp32": {"precision": "fp32", "channels_last": False},
    "fp32_channels_last": {"precision": "fp32", "channels_last": True},  # the full profile
    "bf16": {"precision": "bf16", "channels_last": False},
    "bf16_channels_last": {"precision": "bf16", "channels_last": True},
}


def compiled_mode(device: torch.device) -> str:
    """The mode torch.compile is tried on: bf16 channels-last, fp32 where bf16 is not run."""
    return "bf16_channels_last" if device.type == "cuda" else "fp32_channels_last"


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
    count: int, *, cfg: RunConfig, num_classes: int, device: torch.device, seed: int = 0
) -> list[tuple[Tensor, Tensor, Tensor]]:
    """`count` batches `(clips (B, T, 3, H, W), pids (B,), erased (B, T))` on `device`."""
    gen = torch.Generator().manual_seed(seed)
    data = cfg.data
    c, k, t = data.num_ids_per_batch, data.num_instances, data.clip_len
    batches = []
    for i in range(count):
        clips = torch.randn(c * k, t, 3, data.height, data.width, generator=gen)
        first = (i * c) % (num_classes - c + 1)
        pids = torch.arange(first, first + c).repeat_interleave(k)  # C ids x K tracklets
        erased = (torch.rand(c * k, t, generator=gen) < 0.5).float()  # REA flags, Eq. (12)
        batches.append((clips.to(device), pids.to(device), erased.to(device)))
    return batches


def mode_config(cfg: RunConfig, mode: str) -> RunConfig:
    """`cfg` with the mode's precision and channels-last setting."""
    return cfg.with_overrides(train=MODES[mode])


def time_mode(
    cfg: RunConfig,
    mode: str,
    *,
    num_classes: int,
    batches: list[tuple[Tensor, Tensor, Tensor]],
    steps: int,
    warmup: int,
    step_flops: int,
    device: torch.device,
    deadline: Deadline,
    compile_cap_s: float | None = None,
    progress: Callable[[dict[str, Any]], None] = lambda record: None,
) -> dict[str, Any]:
    """`steps` train steps of one mode from the seeded start; the steps after `warmup` timed.

    Args:
        cfg: the full profile (or its tiny version), random initialisation.
        mode: a key of `MODES`.
        num_classes: N, the classifier's width.
        batches: the batches, used in turn.
        steps: steps in all (the losses after them are compared across modes).
        warmup: untimed first steps (cuDNN's algorithm search; compilation).
        step_flops: FLOPs of one step (`cost_plan.train_step_flops`), for TFLOP/s.
        device: where to train.
        deadline: stop after the step that passes it (the record says so).
        compile_cap_s: torch.compile the network, and stop when the first step (which
            compiles) takes longer than this; None runs eagerly.
        progress: called with the record so far before and after the first step, and at the
            end.

    Returns:
        The mode's record: step times, clips/s, frames/s, achieved TFLOP/s, peak memory, the
        loss terms of the first and the last step and every step's total loss.
    """
    mcfg = mode_config(cfg, mode)
    dataset = shape_only_dataset(num_classes=num_classes, per_id=cfg.data.num_instances)
    trainer = Trainer(mcfg, dataset, device=device, progress=False)
    if compile_cap_s is not None:
        trainer.step.model = torch.compile(trainer.net)  # what the training step calls
    trainer.step.model.train()
    clips = cfg.data.num_ids_per_batch * cfg.data.num_instances
    record: dict[str, Any] = {"mode": mode, **MODES[mode], "compiled": compile_cap_s is not None}
    times, terms = [], []
    held = None
    progress(record)  # a child killed while compiling leaves at least this
    for i in range(steps):
        if i == warmup and device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
            held = torch.cuda.memory_allocated(device)
        sync(device)
        start = time.perf_counter()
        terms.append(trainer.train_step(*batches[i % len(batches)]))
        times.append(time.perf_counter() - start)
        if i == 0:
            record["first_step_s"] = times[0]
            progress(record)
            if compile_cap_s is not None and times[0] > compile_cap_s:
                record["stopped"] = f"the first (compiling) step took over {compile_cap_s:.0f} s"
                break
        if deadline.passed and i + 1 < steps:
            record["stopped"] = f"time cap reached after {i + 1} of {steps} steps"
            break
    timed = times[warmup:]
    record.update(steps_run=len(times), warmup_steps=warmup, step_s=times)
    record["loss_terms"] = {"step_1": terms[0], f"step_{len(terms)}": terms[-1]}
    record["losses"] = [t["total"] for t in terms]
    if not timed:
        progress(record)
        return record
    median = statistics.median(timed)
    record.update(
        median_step_s=median,
        clips_per_s=clips / median,
        frames_per_s=clips * cfg.data.clip_len / median,
        achieved_tflops=step_flops / median / 1e12,
    )
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device)
        record.update(
            peak_allocated_mib=peak / MIB,
            held_before_timed_steps_mib=held / MIB if held is not None else None,
            peak_reserved_mib=torch.cuda.max_memory_reserved(device) / MIB,
        )
    release_free_memory(device)
    step = len(times)
    extra = measure_peak_memory(
        lambda: trainer.train_step(*batches[step % len(batches)]), device=device
    )
    record["one_step_extra_peak_mib"] = extra / MIB
    record["parameters"] = count_parameters(trainer.net)
    print(
        f"{mode}{' compiled' if compile_cap_s is not None else ''}: "
        f"{record['clips_per_s']:.1f} clips/s, median step {median * 1e3:.1f} ms, "
        f"{record['achieved_tflops']:.1f} TFLOP/s, loss {terms[0]['total']:.4f} -> "
        f"{terms[-1]['total']:.4f} after {len(terms)} steps"
    )
    progress(record)
    return record


def free(device: torch.device) -> None:
    """Releases what the last mode left behind before the next one is measured."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def table_ii(
    cfg: RunConfig,
    *,
    num_classes: int,
    paper_cfg: RunConfig,
    paper_classes: int,
    device: torch.device,
) -> dict[str, Any]:
    """Table II's memory columns for the paper's network by torchsummary's rule, beside the
    paper's, and what a real training batch of `cfg` holds.

    Args:
        cfg: the batch measured (the full profile, or its tiny version).
        num_classes: N of the measured network.
        paper_cfg: the full profile: Table II's input is its batch of 32 frames at 224×112.
        paper_classes: N of the paper's network (MARS: 625).
        device: where the batch's saved activations are measured.
    """
    size = (paper_cfg.data.height, paper_cfg.data.width)
    frames = paper_cfg.data.num_ids_per_batch * paper_cfg.data.num_instances  # 9.19 MB input
    net = build_network(
        backbone=paper_cfg.model.backbone, num_classes=paper_classes, input_size=size
    )
    rule = per_frame_footprint(net, frames=frames, frame_size=size)._asdict()
    paper = next(r for r in TABLE_II if r["method"] == "Ours (paper)")
    columns = {  # Table II column -> (our field, the paper's field)
        "Input": ("input_mb", "input_mb"),
        "Forward/backward pass": ("forward_backward_mb", "fwd_bwd_mb"),
        "Params": ("params_mb", "params_mb"),
        "Total": ("total_mb", "total_mb"),
    }
    data = cfg.data
    torch.manual_seed(0)
    net = build_network(
        backbone=cfg.model.backbone, num_classes=num_classes, input_size=(data.height, data.width)
    ).to(device)
    clips = torch.randn(
        data.num_ids_per_batch * data.num_instances,
        data.clip_len,
        3,
        data.height,
        data.width,
        device=device,
    )
    saved = saved_activation_bytes(net, clips)
    return {
        "rule": "torchsummary's (one frame's activations x 2 for gradients, float32 MiB), "
        f"input {frames} frames at {size[0]}x{size[1]}, {paper_classes} classes",
        "columns_mib": {
            name: {"ours": rule[ours], "paper": paper[theirs]}
            for name, (ours, theirs) in columns.items()
        },
        "batch": {
            "clips": data.num_ids_per_batch * data.num_instances,
            "clip_len": data.clip_len,
            "size": [data.height, data.width],
            "saved_activations_mib": saved / MIB,
            "note": "tensors autograd keeps from one float32 training forward of the batch "
            "(reidlib.memory.measure.saved_activation_bytes); the measured step peaks per "
            "mode are in training_modes",
        },
    }
