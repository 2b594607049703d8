"""What the benchmark scripts share: machine description, result files, targets, loader timing.

Every script writes one JSON file under `benchmarks/results/` that names the machine (CPU model,
GPU model where there is one, library versions, load average), its sizes and every raw timing.
Targets in the issue are stated for a GPU; on another device they are recorded as not applicable
rather than as met or missed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime
import json
import os
import platform
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import PIL
import torch
import torchvision
from torch.utils.data import DataLoader, Dataset

from reidlib.data import RandomIdentitySampler

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or the platform's processor string."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine_info(device: torch.device) -> dict[str, Any]:
    """Where the numbers were taken: device, CPU and GPU models, versions, load, date."""
    info: dict[str, Any] = {
        "device": device.type,
        "device_name": cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_model": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "cpu_cores_usable": len(os.sched_getaffinity(0)),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": np.__version__,
        "pillow": PIL.__version__,
        "torch_threads": torch.get_num_threads(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(
            device_name=props.name,
            gpu=props.name,
            gpu_memory_bytes=props.total_memory,
            gpu_capability=f"{props.major}.{props.minor}",
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
            bf16_supported=torch.cuda.is_bf16_supported(),
            driver=nvidia_driver(),
        )
    return info


def nvidia_driver() -> str | None:
    """The NVIDIA driver version as `nvidia-smi` reports it; None where it cannot be read."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip().splitlines()[0] if out.stdout.strip() else None


class Deadline:
    """A wall-clock limit: the seconds left before it, and tighter limits inside it."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds until the limit; negative once it has passed."""
        return self.end - time.monotonic()

    @property
    def passed(self) -> bool:
        return self.left() <= 0

    def within(self, seconds: float) -> Deadline:
        """A limit `seconds` from now, or this one if it comes first."""
        inner = Deadline(seconds)
        inner.end = min(inner.end, self.end)
        return inner


def resolve_benchmark_device(name: str) -> torch.device:
    """`torch.device(name)`, refusing CUDA where there is none (no silent CPU fallback)."""
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(
            f"--device {name}: CUDA is not available on this machine; use --device cpu "
            "(with --tiny for a quick check)"
        )
    return device


def write_results(result: dict[str, Any], out: Path) -> None:
    """Writes `result` as indented JSON to `out`, creating its folder."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {out}")


def sync(device: torch.device) -> None:
    """Waits for queued CUDA work, so that a wall-clock timer sees it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def release_free_memory(device: torch.device) -> None:
    """Hands freed heap memory back to the OS before a CPU peak-memory measurement.

    Without it a step reuses memory an earlier step freed, and the process's peak resident size
    does not move (glibc only; elsewhere, and on CUDA, nothing happens).
    """
    if device.type != "cpu":
        return
    libc = ctypes.util.find_library("c")
    if libc is not None and hasattr(ctypes.CDLL(libc), "malloc_trim"):
        ctypes.CDLL(libc).malloc_trim(0)


def judge_targets(
    checks: dict[str, tuple[float | None, float, str]],
    *,
    device: torch.device,
    full_size: bool,
) -> dict[str, Any]:
    """Targets stated for a GPU at full size, judged there and marked not applicable elsewhere.

    Args:
        checks: name -> `(measured, target, "at_least" | "at_most")`; a `None` measurement
            (not taken in this run) is never met.
        device: where the measurements were taken.
        full_size: whether the run used the sizes the targets are stated for (not `--tiny`).

    Returns:
        `{"applicable", "note", "all_met", "checks": {name: {...}}}`; `met` and `all_met` are
        None when the targets do not apply to this run.
    """
    applicable = device.type == "cuda" and full_size
    out: dict[str, Any] = {}
    for name, (measured, target, sense) in checks.items():
        if sense not in ("at_least", "at_most"):
            raise ValueError(f"{name}: sense must be 'at_least' or 'at_most', got {sense!r}")
        met = None
        if applicable:
            met = measured is not None and (
                measured >= target if sense == "at_least" else measured <= target
            )
        out[name] = {"measured": measured, "target": target, "sense": sense, "met": met}
    if applicable:
        note = "targets are stated for a GPU at full size; judged"
    else:
        where = [f"device {device.type}"] if device.type != "cuda" else []
        where += [] if full_size else ["tiny sizes"]
        note = (
            f"targets are stated for a GPU at full size; not applicable here ({', '.join(where)})"
        )
    return {
        "applicable": applicable,
        "note": note,
        "all_met": all(c["met"] for c in out.values()) if applicable else None,
        "checks": out,
    }


def time_loader(
    dataset: Dataset,
    *,
    pids: Iterable[int],
    num_workers: int,
    batches: int,
    main_threads: int,
    num_ids_per_batch: int = 8,
    num_instances: int = 4,
    clip_len: int = 4,
    pin_memory: bool = False,
) -> dict[str, Any]:
    """Frames per second of a training loader over `batches` batches after a warm-up.

    The warm-up (worker start-up plus the batches the workers prefetch meanwhile) is timed
    separately, so the rate is the steady state.

    Args:
        dataset: items `(clip, pid, camid, erased)`, e.g. a `reidlib.data.VideoDataset`.
        pids: the pid of every item, for the identity sampler.
        num_workers: DataLoader workers (0: the main process decodes).
        batches: timed batches.
        main_threads: torch threads of the main process while timing.
        num_ids_per_batch: `C`.
        num_instances: `K`.
        clip_len: `T`.
        pin_memory: pin batches (as the trainer does on CUDA).
    """
    sampler = RandomIdentitySampler(
        list(pids), num_ids_per_batch=num_ids_per_batch, num_instances=num_instances, seed=0
    )
    loader = DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        pin_memory=pin_memory,
    )
    warmup = 1 + 2 * num_workers  # DataLoader's default prefetch is 2 batches per worker
    threads = torch.get_num_threads()
    torch.set_num_threads(main_threads)
    torch.manual_seed(0)
    start = time.perf_counter()
    done, epoch, steady, shape = 0, 0, 0.0, []
    while done < warmup + batches:
        sampler.set_epoch(epoch)
        for clips, *_ in loader:
            shape = list(clips.shape)
            done += 1
            if done == warmup:
                steady = time.perf_counter()
            if done == warmup + batches:
                break
        epoch += 1
    seconds = time.perf_counter() - steady
    torch.set_num_threads(threads)
    frames = batches * num_ids_per_batch * num_instances * clip_len
    result = {
        "num_workers": num_workers,
        "main_process_torch_threads": main_threads,
        "batches": batches,
        "frames": frames,
        "seconds": round(seconds, 4),
        "frames_per_s": round(frames / seconds, 1),
        "clips_per_s": round(frames / clip_len / seconds, 1),
        "warmup_batches": warmup,
        "warmup_s": round(steady - start, 2),
        "batch_shape": shape,
    }
    print(
        f"loader, {num_workers} workers, {main_threads} main threads: "
        f"{result['frames_per_s']} frames/s"
    )
    return result
