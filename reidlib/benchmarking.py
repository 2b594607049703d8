"""What the scripts in `benchmarks/` share: the machine a figure was taken on, the result file
that names it, and the measurements two scripts make (a training loader's frames per second,
an evaluator's input at MARS's test size, the peak memory of a call).

Every script writes one JSON file under `benchmarks/results/` starting with `result_header`:
what was measured, the device by name (`reidlib.results.device_name`), the machine and the
command. Figures on a shared machine carry its load average, so a reader can tell.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import PIL
import torch
import torchvision
from torch import Tensor

from reidlib.memory.footprint import measure_peak_memory
from reidlib.results import device_name

MARS_TEST = {"num_q": 1980, "num_g": 9330}  # MARS's query and gallery tracklets, junk dropped


def machine_facts(device: torch.device | str) -> dict[str, Any]:
    """Where figures were taken: device and CPU by name, library versions, cores, load, date;
    on CUDA also the GPU's memory and capability and the TF32 switches."""
    device = torch.device(device)
    facts: dict[str, Any] = {
        "device": device.type,
        "device_name": device_name(device),
        "cpu": device_name("cpu"),
        "cpu_cores_usable": len(os.sched_getaffinity(0)),
        "torch_threads": torch.get_num_threads(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": np.__version__,
        "pillow": PIL.__version__,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        facts.update(
            gpu_memory_bytes=props.total_memory,
            gpu_capability=f"{props.major}.{props.minor}",
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
            bf16_supported=torch.cuda.is_bf16_supported(),
            cudnn_allow_tf32=torch.backends.cudnn.allow_tf32,
            cuda_matmul_allow_tf32=torch.backends.cuda.matmul.allow_tf32,
        )
    return facts


def result_header(what: str, *, device: torch.device | str) -> dict[str, Any]:
    """The first entries of a result file: what it measures, the device by name, the machine
    (`machine_facts`) and the command that wrote it."""
    return {
        "benchmark": what,
        "device": device_name(device),
        "machine": machine_facts(device),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
    }


def write_result(result: dict[str, Any], out: Path) -> Path:
    """Writes `result` as indented JSON to `out`, whole or not at all: to a side file first,
    then renamed over `out` (a script rewriting its file as it goes never leaves half of one).
    Values JSON cannot hold are written as text."""
    out.parent.mkdir(parents=True, exist_ok=True)
    side = out.with_name(out.name + ".partial")
    side.write_text(json.dumps(result, indent=2, default=str) + "\n")
    side.replace(out)
    return out


def resolve_benchmark_device(name: str) -> torch.device:
    """`torch.device(name)`; CUDA where there is none is an error, never a silent CPU run."""
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"--device {name}: CUDA is not available here; use --device cpu")
    return device


def sync(device: torch.device) -> None:
    """Waits for the work queued on a CUDA device, so that a wall-clock timer sees it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def release_free_memory() -> None:
    """Hands freed heap memory back to the system (glibc's `malloc_trim`; elsewhere nothing).

    Before a CPU peak measurement: otherwise a call reuses what earlier work freed and the
    resident set, which `measure_peak_memory` reads, does not move."""
    libc = ctypes.util.find_library("c")
    if libc is not None and hasattr(ctypes.CDLL(libc), "malloc_trim"):
        ctypes.CDLL(libc).malloc_trim(0)


def extra_peak_bytes(call: Callable[[], Any], *, device: torch.device) -> int:
    """Memory `call()` adds at its peak (`measure_peak_memory`), freed memory handed back first."""
    release_free_memory()
    return measure_peak_memory(call, device=device)


def time_loader(
    epoch_loader: Callable[[int], Iterable[Sequence[Tensor]]], *, batches: int, warmup: int
) -> dict[str, Any]:
    """Frames per second of a training loader in its steady state.

    Epochs 0, 1, ... are walked until `warmup + batches` batches have come; the first `warmup`
    (worker start-up and what the workers prefetch meanwhile: 1 + 2 per worker with
    DataLoader's defaults) are timed apart.

    Args:
        epoch_loader: epoch -> its batches, each starting with clips `(B, T, C, H, W)`
            (e.g. a trainer's `epoch_loader`).
        batches: timed batches.
        warmup: untimed batches before them.
    """
    start = steady = time.perf_counter()
    done, frames, epoch, shape = 0, 0, 0, []
    while done < warmup + batches:
        for clips, *_ in epoch_loader(epoch):
            done += 1
            if done == warmup:
                steady = time.perf_counter()
            elif done > warmup:
                frames += clips.shape[0] * clips.shape[1]
                shape = list(clips.shape)
            if done == warmup + batches:
                break
        epoch += 1
    seconds = time.perf_counter() - steady
    return {
        "batches": batches,
        "frames": frames,
        "seconds": round(seconds, 4),
        "frames_per_s": round(frames / seconds, 1),
        "warmup_batches": warmup,
        "warmup_s": round(steady - start, 2),
        "batch_shape": shape,
    }


@dataclass(frozen=True, kw_only=True)
class RankingProblem:
    """An evaluator's input: query and gallery features with their pids and camids."""

    q: Tensor  # `(num_q, D)`
    g: Tensor  # `(num_g, D)`
    q_pids: Tensor
    g_pids: Tensor
    q_camids: Tensor
    g_camids: Tensor

    def ids(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """`(q_pids, g_pids, q_camids, g_camids)` as NumPy arrays, as evaluators take them."""
        q_pids, g_pids = self.q_pids.cpu().numpy(), self.g_pids.cpu().numpy()
        return q_pids, g_pids, self.q_camids.cpu().numpy(), self.g_camids.cpu().numpy()


def mars_like_features(
    *,
    num_q: int = MARS_TEST["num_q"],
    num_g: int = MARS_TEST["num_g"],
    dim: int = 2048,
    num_ids: int = 625,
    num_cameras: int = 6,
    num_distractors: int = 800,
    noise: float = 3.0,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> RankingProblem:
    """Random features with MARS's identity and camera structure (defaults: its test split).

    Test ids 1..`num_ids` each appear on 2 to `num_cameras` cameras; every query is one of an
    id's tracklets on one of its cameras; the gallery holds tracklets of the same ids on their
    cameras (some share the query's camera, and the protocol removes them) and `num_distractors`
    pid-0 items. A feature is its id's centre + its camera's offset + `noise` × N(0, 1): a
    smaller `noise` is a stronger identity signal (at the defaults rank-1 is about 0.86).
    """
    gen = torch.Generator().manual_seed(seed)
    cams_per_id = torch.randint(2, num_cameras + 1, (num_ids,), generator=gen)
    id_cams = torch.stack([torch.randperm(num_cameras, generator=gen) for _ in range(num_ids)])

    def cameras(pids: Tensor) -> Tensor:  # one of each id's own cameras
        slot = (torch.rand(len(pids), generator=gen) * cams_per_id[pids - 1]).long()
        return id_cams[pids - 1, slot]

    q_pids = torch.randperm(num_ids, generator=gen).repeat(num_q // num_ids + 1)[:num_q] + 1
    g_pids = torch.randint(1, num_ids + 1, (num_g - num_distractors,), generator=gen)
    q_camids, g_camids = cameras(q_pids), cameras(g_pids)
    g_pids = torch.cat([g_pids, torch.zeros(num_distractors, dtype=torch.long)])
    g_camids = torch.cat(
        [g_camids, torch.randint(0, num_cameras, (num_distractors,), generator=gen)]
    )
    centres = torch.randn(num_ids + 1, dim, generator=gen)
    offsets = 0.5 * torch.randn(num_cameras, dim, generator=gen)

    def features(pids: Tensor, camids: Tensor) -> Tensor:
        f = centres[pids] + offsets[camids] + noise * torch.randn(len(pids), dim, generator=gen)
        distractor = pids == 0  # distractors share no centre
        f[distractor] += torch.randn(int(distractor.sum()), dim, generator=gen) - centres[0]
        return f

    q, g = features(q_pids, q_camids), features(g_pids, g_camids)
    return RankingProblem(
        q=q.to(device),
        g=g.to(device),
        q_pids=q_pids.to(device),
        g_pids=g_pids.to(device),
        q_camids=q_camids.to(device),
        g_camids=g_camids.to(device),
    )
