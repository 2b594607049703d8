"""Evaluator speed and memory at MARS scale: 1,980 queries × 9,330 gallery tracklets, D = 2048.

Times `reidlib.evaluation` (squared Euclidean distances, then CMC and mAP) against a
straightforward numpy baseline that ranks one query at a time with a full stable argsort, as
torchreid's pure-python path does, and checks that both give the same CMC and mAP. Peak memory
is measured in a fresh child process (see `measure_memory`). Writes
`benchmarks/results/eval_speed.json`.

    venv/bin/python benchmarks/eval_speed.py                 # CPU
    venv/bin/python benchmarks/eval_speed.py --device cuda   # where CUDA exists
"""

from __future__ import annotations

import argparse
import ctypes
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from common import RESULTS_DIR, machine_info, resolve_benchmark_device, sync, write_results

from reidlib.evaluation import evaluate, pairwise_distance

NUM_Q, NUM_G, DIM = 1980, 9330, 2048  # MARS test split (REFERENCE.md §5), ResNet50 feature width
NUM_IDS, NUM_CAMS, NUM_DISTRACTORS = 625, 6, 800
MAX_RANK = 50
TARGET_SECONDS, TARGET_EXTRA_BYTES = 1.5, 1 << 30
RESULTS = RESULTS_DIR / "eval_speed.json"


def mars_like(
    *,
    device: torch.device,
    seed: int = 0,
    num_q: int = NUM_Q,
    num_g: int = NUM_G,
    dim: int = DIM,
    num_ids: int = NUM_IDS,
    num_distractors: int = NUM_DISTRACTORS,
) -> dict[str, torch.Tensor]:
    """Random features with MARS-like identity and camera structure.

    Test ids 1..`num_ids` each appear on 2–6 of the 6 cameras; every query is one of an id's
    tracklets on one of its cameras; the gallery holds tracklets of the same ids on their
    cameras (so some share the query's camera and are removed by the protocol) plus pid-0
    distractors. A feature is its id's center + a camera offset + noise. The defaults are the
    MARS test split.
    """
    gen = torch.Generator().manual_seed(seed)
    cams_per_id = torch.randint(2, NUM_CAMS + 1, (num_ids,), generator=gen)
    id_cams = torch.stack([torch.randperm(NUM_CAMS, generator=gen) for _ in range(num_ids)])

    def draw(pids: torch.Tensor) -> torch.Tensor:  # a camera among the id's cameras
        slot = (torch.rand(len(pids), generator=gen) * cams_per_id[pids - 1]).long()
        return id_cams[pids - 1, slot]

    q_pids = torch.randperm(num_ids, generator=gen).repeat(num_q // num_ids + 1)[:num_q] + 1
    g_pids = torch.randint(1, num_ids + 1, (num_g - num_distractors,), generator=gen)
    q_camids, g_camids = draw(q_pids), draw(g_pids)
    g_pids = torch.cat([g_pids, torch.zeros(num_distractors, dtype=torch.long)])
    g_camids = torch.cat([g_camids, torch.randint(0, NUM_CAMS, (num_distractors,), generator=gen)])

    centers = torch.randn(num_ids + 1, dim, generator=gen)
    cam_offset = 0.5 * torch.randn(NUM_CAMS, dim, generator=gen)

    def features(pids: torch.Tensor, camids: torch.Tensor) -> torch.Tensor:
        f = centers[pids] + cam_offset[camids] + 3.0 * torch.randn(len(pids), dim, generator=gen)
        distractor = pids == 0  # distractors: no shared center
        f[distractor] += torch.randn(int(distractor.sum()), dim, generator=gen) - centers[0]
        return f

    data = {
        "q": features(q_pids, q_camids),
        "g": features(g_pids, g_camids),
        "q_pids": q_pids,
        "g_pids": g_pids,
        "q_camids": q_camids,
        "g_camids": g_camids,
    }
    return {k: v.to(device) for k, v in data.items()}


def ours(data: dict[str, torch.Tensor]) -> tuple[torch.Tensor, np.ndarray, float]:
    """The library path: distances, then CMC and mAP."""
    dist = pairwise_distance(data["q"], data["g"], metric="sqeuclidean")
    cmc, mAP = evaluate(
        dist, data["q_pids"], data["g_pids"], data["q_camids"], data["g_camids"], MAX_RANK
    )
    return dist, cmc, mAP


def baseline_rank(
    distmat: np.ndarray,
    q_pids: np.ndarray,
    g_pids: np.ndarray,
    q_camids: np.ndarray,
    g_camids: np.ndarray,
    max_rank: int = MAX_RANK,
) -> tuple[np.ndarray, float]:
    """Per-query numpy ranking: stable argsort of the row, remove, CMC, AP."""
    max_rank = min(max_rank, distmat.shape[1])
    curves, aps = [], []
    for i in range(distmat.shape[0]):
        order = np.argsort(distmat[i], kind="stable")
        removed = (g_pids[order] == q_pids[i]) & (g_camids[order] == q_camids[i])
        hits = (g_pids[order] == q_pids[i])[~removed]
        if not hits.any():
            continue
        cum = hits.cumsum()
        curves.append(np.minimum(cum, 1)[:max_rank])
        aps.append((cum / np.arange(1, len(hits) + 1))[hits].sum() / hits.sum())
    return np.mean(curves, axis=0), float(np.mean(aps))


def baseline_distance(q: np.ndarray, g: np.ndarray) -> np.ndarray:
    """‖q‖² + ‖g‖² − 2 q·g with numpy."""
    dist = q @ g.T
    dist *= -2.0
    dist += (q**2).sum(axis=1, keepdims=True)
    dist += (g**2).sum(axis=1)
    return np.maximum(dist, 0.0, out=dist)


def read_status_kib(field: str) -> int:
    """A `VmRSS`/`VmHWM` line of /proc/self/status, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field} line")


def memory_child(device: torch.device) -> dict:
    """Runs in a fresh process: the peak memory one evaluation adds on top of its inputs."""
    data = mars_like(device=device)
    sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        ours(data)
        sync(device)
        peak = torch.cuda.max_memory_allocated(device)
        return {
            "method": "torch.cuda.max_memory_allocated minus memory_allocated before the call",
            "extra_peak_bytes": peak - before,
        }
    # Hand memory freed while building the inputs back to the OS, so that the call cannot hide
    # its allocations by reusing it (glibc only).
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    rss_before = read_status_kib("VmRSS")
    # Writing 5 to clear_refs resets the process's peak RSS (VmHWM) to its current RSS
    # (Linux >= 4.0), so VmHWM afterwards is the peak of this call alone.
    Path("/proc/self/clear_refs").write_text("5")
    ours(data)
    hwm = read_status_kib("VmHWM")
    return {
        "method": (
            "fresh process; inputs built first, then malloc_trim(0); VmHWM reset through "
            "/proc/self/clear_refs; "
            "extra peak = VmHWM after the call - VmRSS before it (includes the "
            f"{NUM_Q}x{NUM_G} float32 distance matrix)"
        ),
        "rss_before_bytes": rss_before * 1024,
        "extra_peak_bytes": (hwm - rss_before) * 1024,
    }


def measure_memory(device: torch.device) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", "--device", device.type],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    device = resolve_benchmark_device(args.device)
    if args.memory_child:
        print(json.dumps(memory_child(device)))
        return

    info = machine_info(device)
    data = mars_like(device=device)
    q_np, g_np = data["q"].cpu().numpy(), data["g"].cpu().numpy()
    ids_np = [data[k].cpu().numpy() for k in ("q_pids", "g_pids", "q_camids", "g_camids")]

    ours(data)  # warm-up: thread pools, allocator, CUDA context
    t_dist, t_rank, t_base_dist, t_base_rank = [], [], [], []
    for _ in range(args.repeats):
        sync(device)
        t0 = time.perf_counter()
        dist = pairwise_distance(data["q"], data["g"], metric="sqeuclidean")
        sync(device)
        t1 = time.perf_counter()
        cmc, mAP = evaluate(
            dist, data["q_pids"], data["g_pids"], data["q_camids"], data["g_camids"], MAX_RANK
        )
        t2 = time.perf_counter()
        t_dist.append(t1 - t0)
        t_rank.append(t2 - t1)

        dist_np = dist.cpu().numpy()
        t3 = time.perf_counter()
        baseline_distance(q_np, g_np)
        t4 = time.perf_counter()
        base_cmc, base_map = baseline_rank(dist_np, *ids_np)  # same distances as ours
        t5 = time.perf_counter()
        t_base_dist.append(t4 - t3)
        t_base_rank.append(t5 - t4)
        np.testing.assert_allclose(cmc, base_cmc, rtol=0, atol=1e-12)
        assert abs(mAP - base_map) < 1e-12, (mAP, base_map)

    med = statistics.median
    total = [a + b for a, b in zip(t_dist, t_rank)]
    base_total = [a + b for a, b in zip(t_base_dist, t_base_rank)]
    memory = measure_memory(device)
    result = {
        "benchmark": "evaluation at MARS scale: squared Euclidean distances + CMC + mAP",
        "scale": {
            "num_query": NUM_Q,
            "num_gallery": NUM_G,
            "feature_dim": DIM,
            "num_ids": NUM_IDS,
            "num_cameras": NUM_CAMS,
            "num_distractors": NUM_DISTRACTORS,
            "max_rank": MAX_RANK,
            "dtype": "float32",
        },
        "machine": info,
        "repeats": args.repeats,
        "ours": {
            "distance_s": t_dist,
            "rank_s": t_rank,
            "total_s": total,
            "median_distance_s": med(t_dist),
            "median_rank_s": med(t_rank),
            "median_total_s": med(total),
        },
        "baseline": {
            "method": "numpy: q@g.T distances; per query a stable argsort, removal, CMC, AP",
            "distance_s": t_base_dist,
            "rank_s": t_base_rank,
            "total_s": base_total,
            "median_distance_s": med(t_base_dist),
            "median_rank_s": med(t_base_rank),
            "median_total_s": med(base_total),
        },
        "speedup": {
            "rank": med(t_base_rank) / med(t_rank),
            "total": med(base_total) / med(total),
        },
        "memory": {**memory, "extra_peak_mib": memory["extra_peak_bytes"] / 2**20},
        "same_results_as_baseline": True,
        "results": {"rank1": float(cmc[0]), "rank5": float(cmc[4]), "mAP": mAP},
        "targets": {"total_s": TARGET_SECONDS, "extra_peak_bytes": TARGET_EXTRA_BYTES},
        "meets_targets": med(total) < TARGET_SECONDS
        and memory["extra_peak_bytes"] < TARGET_EXTRA_BYTES,
    }
    write_results(result, args.out)
    print(
        f"ours: {med(total):.3f} s median (distances {med(t_dist):.3f} s, CMC+mAP "
        f"{med(t_rank):.3f} s); extra peak memory {memory['extra_peak_bytes'] / 2**20:.0f} MiB\n"
        f"baseline: {med(base_total):.3f} s (distances {med(t_base_dist):.3f} s, per-query "
        f"ranking {med(t_base_rank):.3f} s)\n"
        f"speed-up: ranking ×{result['speedup']['rank']:.1f}, total "
        f"×{result['speedup']['total']:.1f}; rank-1 {cmc[0]:.4f}, mAP {mAP:.4f}; same as "
        f"baseline; written to {args.out}"
    )


if __name__ == "__main__":
    main()
