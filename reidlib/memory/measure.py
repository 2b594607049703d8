"""Memory of a real training step, for checking Table II's memory claim against measurement.

`reidlib.memory.footprint` gives torchsummary's count (what Table II printed) and the raw
`measure_peak_memory`. This module builds the two networks Table II's claim is about (ours and
a 3D-convolution baseline of the same depth), runs the trainer's own training step
(`reidlib.training.build_step`: forward, Eq. 13, backward, Adam and center steps, with
the full profile's settings in float32) on a `C × K` batch of random clips and reports the peak.

On the CPU the peak is read from the process's resident memory, which the C allocator keeps
after earlier work; each measurement therefore runs in a fresh Python process by default, with
glibc told to hand large freed blocks straight back to the system (`MALLOC_MMAP_THRESHOLD_`), so
that the resident set follows the live tensors.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor, nn

from reidlib.config import load_profile
from reidlib.memory.baseline3d import Video3DNet
from reidlib.memory.footprint import (
    FLOAT32,
    MIB,
    Footprint,
    count_parameters,
    measure_peak_memory,
    summary_footprint,
)
from reidlib.network import build_network
from reidlib.training.build import build_step

MEMORY_NETWORKS = ("ours", "3d")


class StepMemory(NamedTuple):
    """Measured memory of one training step (MiB) and the batch it was measured on."""

    network: str  # "ours" | "3d"
    device: str  # "cpu" | "cuda"
    num_clips: int  # B = C × K
    clip_len: int  # T
    height: int
    width: int
    peak_mb: float  # what the step adds at its peak over the memory held before it
    held_mb: float | None  # held before it (parameters, Adam state, centers, batch); CUDA only
    params_mb: float  # every parameter, float32


def build_memory_network(name: str, *, num_classes: int, input_size: tuple[int, int]) -> nn.Module:
    """`"ours"`: the paper's ResNet50-IBN-a + temporal attention + BNNeck; `"3d"`: `Video3DNet`.

    Args:
        name: a key of `MEMORY_NETWORKS`.
        num_classes: N, training identities (625 for MARS).
        input_size: `(H, W)` of the frames (ours derives its attention kernel from it).
    """
    if name == "ours":
        return build_network(
            backbone="resnet50_ibn_a", num_classes=num_classes, input_size=input_size
        )
    if name == "3d":
        return Video3DNet(num_classes=num_classes)
    raise ValueError(f"Unknown network {name!r}: must be one of {MEMORY_NETWORKS}")


def per_frame_footprint(
    model: nn.Module, *, frames: int, frame_size: tuple[int, int], probe_frames: int = 2
) -> Footprint:
    """Table II's columns for an input item of `frames` frames, run on only `probe_frames`.

    For a frame-level (2D) network torchsummary's count is one frame's activations, plus the
    temporal conv's output of T values per item: running a short probe gives the forward/
    backward column to within 8 bytes per missing frame (0.0002 MiB for 32 frames against 2),
    and the params column exactly; the input column is computed for `frames`. Not valid for a
    3D network, whose count grows with the frames (use `summary_footprint` on the full item).

    Args:
        model: a frame-level network taking `(B, T, 3, H, W)`.
        frames: frames in the item whose footprint is reported (32 in Table II: 9.19 MB).
        frame_size: `(H, W)`.
        probe_frames: frames actually run.
    """
    probe = summary_footprint(model, (probe_frames, 3, *frame_size))
    input_mb = frames * 3 * frame_size[0] * frame_size[1] * FLOAT32 / MIB
    total = input_mb + probe.forward_backward_mb + probe.params_mb
    return Footprint(input_mb, probe.forward_backward_mb, probe.params_mb, total)


def saved_activation_bytes(model: nn.Module, clips: Tensor) -> int:
    """Bytes of the tensors autograd saves for the backward pass of one training forward.

    Runs `model(clips)` in train mode and records every tensor saved for backward
    (`torch.autograd.graph.saved_tensors_hooks`); each underlying storage counts once, and
    storages of parameters are left out (they are held anyway). This is the real batch's
    activation memory that a training step holds from the forward pass into the backward pass,
    counted exactly and on any device; gradients, optimiser state and temporary buffers come
    on top (see `measure_training_steps`).

    Args:
        model: the network (its output's tensors must depend on `clips`).
        clips: a training batch, `(B, T, 3, H, W)`.
    """
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    storages: dict[int, int] = {}

    def pack(t: Tensor) -> Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            storages[storage.data_ptr()] = storage.nbytes()
        return t

    was_training = model.training
    model.train()
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out = model(clips)
        del out  # the graph, and with it the saved tensors, is freed here
    finally:
        model.train(was_training)
    return sum(storages.values())


def random_batch(
    *,
    num_ids: int,
    num_instances: int,
    clip_len: int,
    input_size: tuple[int, int],
    generator: torch.Generator,
) -> tuple[Tensor, Tensor, Tensor]:
    """A `C × K` batch of random clips `(B, T, 3, H, W)`, its pids `(B,)` and erased flags
    `(B, T)` (about half the frames flagged, as random erasing would)."""
    b = num_ids * num_instances
    clips = torch.randn(b, clip_len, 3, *input_size, generator=generator)
    pids = torch.arange(num_ids).repeat_interleave(num_instances)
    erased = (torch.rand(b, clip_len, generator=generator) < 0.5).float()
    return clips, pids, erased


def measure_training_steps(
    networks: Sequence[str],
    *,
    num_ids: int = 8,
    num_instances: int = 4,
    clip_len: int = 4,
    input_size: tuple[int, int] = (224, 112),
    num_classes: int = 625,
    device: torch.device | str = "cpu",
    fresh_process: bool | None = None,
    threads: int = 1,
    seed: int = 0,
) -> dict[str, StepMemory]:
    """Peak memory of one training step of each network on a `C × K` batch of `T`-frame clips.

    A first step runs unmeasured (it allocates Adam's state and sets up the allocator); the
    second is measured with `measure_peak_memory`: on CUDA the allocator's peak of live
    tensors, on the CPU the growth of the resident set. Either way the peak holds the saved
    activations, the gradients (as large as the parameters) and temporary buffers; the
    parameters and Adam's state, held before the step, are not part of it. Fresh processes run
    side by side (each measures only its own resident set); in-process measurements run one
    after the other.

    Args:
        networks: keys of `MEMORY_NETWORKS`.
        num_ids: C, identities per batch.
        num_instances: K, clips per identity (B = C × K).
        clip_len: T.
        input_size: `(H, W)`.
        num_classes: N, width of the classifier.
        device: where to run.
        fresh_process: measure in a new Python process (no allocator history); None = on the
            CPU only, where the resident set is what is measured.
        threads: torch CPU threads in a fresh process (1 keeps one allocator arena, so the
            CPU peak is repeatable).
        seed: seeds the weights and the batch.

    Returns:
        network -> its measurement, in MiB.
    """
    device = torch.device(device)
    for network in networks:
        if network not in MEMORY_NETWORKS:
            raise ValueError(f"Unknown network {network!r}: must be one of {MEMORY_NETWORKS}")
    settings = {
        "num_ids": num_ids,
        "num_instances": num_instances,
        "clip_len": clip_len,
        "input_size": list(input_size),
        "num_classes": num_classes,
        "device": str(device),
        "seed": seed,
    }
    if fresh_process is None:
        fresh_process = device.type == "cpu"
    if not fresh_process:
        return {network: _measure(network=network, **settings) for network in networks}
    # glibc returns every block of 64 KiB or more to the system when it is freed, so the
    # resident set follows the live tensors instead of keeping freed activations around
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(64 * 1024)}
    running = {
        network: subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reidlib.memory.measure",
                json.dumps({"network": network, **settings}),
                str(threads),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for network in networks
    }
    results = {}
    for network, process in running.items():
        stdout, stderr = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"memory measurement of {network!r} failed:\n{stderr[-2000:]}")
        results[network] = StepMemory(**json.loads(stdout.strip().splitlines()[-1]))
    return results


def _measure(
    *,
    network: str,
    num_ids: int,
    num_instances: int,
    clip_len: int,
    input_size: list[int],
    num_classes: int,
    device: str,
    seed: int,
) -> StepMemory:
    dev = torch.device(device)
    torch.manual_seed(seed)
    size = (int(input_size[0]), int(input_size[1]))
    model = build_memory_network(network, num_classes=num_classes, input_size=size).to(dev)
    clips, pids, erased = random_batch(
        num_ids=num_ids,
        num_instances=num_instances,
        clip_len=clip_len,
        input_size=size,
        generator=torch.Generator().manual_seed(seed),
    )
    # the full profile's step in float32; channels-last off, which the 3D baseline lacks
    cfg = load_profile("full").with_overrides(train={"channels_last": False})
    step = build_step(model, cfg, num_classes=num_classes, device=dev)
    batch = (clips.to(dev), pids.to(dev), erased.to(dev))
    model.train()
    step(*batch)  # unmeasured: Adam state, allocator and thread-pool set-up
    step.release_gradients()  # the measured step starts from parameters and Adam state only
    held = torch.cuda.memory_allocated(dev) / MIB if dev.type == "cuda" else None
    peak = measure_peak_memory(lambda: step(*batch), device=dev)
    return StepMemory(
        network=network,
        device=dev.type,
        num_clips=num_ids * num_instances,
        clip_len=clip_len,
        height=size[0],
        width=size[1],
        peak_mb=peak / MIB,
        held_mb=held,
        params_mb=count_parameters(model) * FLOAT32 / MIB,
    )


if __name__ == "__main__":  # a fresh process: `python -m reidlib.memory.measure ARGS THREADS`
    torch.set_num_threads(int(sys.argv[2]))
    print(json.dumps(_measure(**json.loads(sys.argv[1]))._asdict()))
