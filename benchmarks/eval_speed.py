"""Evaluator speed and memory at MARS scale: 1,980 queries × 9,330 gallery tracklets, D = 2048.

Times `reidlib.evaluation` (`evaluate` and `evaluate_detailed`, the latter with its top-10 rank
lists) side by side, in one process and on the same float32 distance matrix, with the fastest
peer we know: fast-reid's Cython `evaluate_cy` (fastreid 1.4.0, `rank_cy.pyx`). The peer is
built on demand in `benchmarks/.cache/` (git-ignored): the wheel is fetched with `pip download`,
Cython is installed there with `pip install --target`, and `rank_cy.pyx` is compiled with gcc
`-O3`; none of it is a reidlib dependency, and when a step fails the JSON says why and the peer
is left out. `evaluate_cy` follows the same protocol (same pid and camid removed, queries without
a true match skipped, AP over the whole list) but ranks with an unstable `np.argsort`, so it
orders tied distances arbitrarily, and float32 distances at this scale do tie. Results are
therefore compared on each matrix untied (every distance replaced by its place in the row under
reidlib's rule), on which reidlib must also give exactly its results on the original. Features
come at three strengths of identity signal, so the ranks differ; each strength's distance matrix
is computed once, and the evaluators take turns in every timed repeat. A per-query numpy ranking
(a full stable argsort per row, as torchreid's pure-python path does) is timed once per strength
and compared on the original matrix. Peak memory is measured in a fresh child process (see
`memory_child`). Writes `benchmarks/results/eval_speed.json`.

    PYTHONPATH=. venv/bin/python benchmarks/eval_speed.py                 # CPU
    PYTHONPATH=. venv/bin/python benchmarks/eval_speed.py --device cuda   # where CUDA exists
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
from common import RESULTS_DIR, machine_info, resolve_benchmark_device, sync, write_results

from reidlib.evaluation import evaluate, evaluate_detailed, pairwise_distance

NUM_Q, NUM_G, DIM = 1980, 9330, 2048  # MARS test split, ResNet50 feature width
NUM_IDS, NUM_CAMS, NUM_DISTRACTORS = 625, 6, 800
MAX_RANK = 50
STRENGTHS = {"weak": 4.0, "medium": 3.0, "strong": 2.4}  # noise std; rank-1 ≈ 0.29, 0.86, 1.0
TARGET_SPEEDUP, TARGET_EXTRA_BYTES, TOLERANCE = 2.0, 1 << 30, 1e-5
RESULTS = RESULTS_DIR / "eval_speed.json"
CACHE = Path(__file__).resolve().parent / ".cache" / "fastreid"
PEER = {"fastreid": "1.4.0", "cython": "3.3.0", "cflags": ["-O3"]}
BUILD_PEER = """
import sys
import numpy as np
from Cython.Build import cythonize
from setuptools import Distribution, Extension
pyx, out = sys.argv[1:]
ext = Extension("rank_cy", [pyx], include_dirs=[np.get_include()], extra_compile_args=["-O3"])
cmd = Distribution({"ext_modules": cythonize([ext], quiet=True, language_level=3)})
cmd = cmd.get_command_obj("build_ext")
cmd.build_lib = cmd.build_temp = out
cmd.ensure_finalized()
cmd.run()
"""


def mars_like(
    *,
    device: torch.device,
    seed: int = 0,
    num_q: int = NUM_Q,
    num_g: int = NUM_G,
    dim: int = DIM,
    num_ids: int = NUM_IDS,
    num_distractors: int = NUM_DISTRACTORS,
    noise: float = STRENGTHS["medium"],
) -> dict[str, torch.Tensor]:
    """Random features with MARS-like identity and camera structure.

    Test ids 1..`num_ids` each appear on 2–6 of the 6 cameras; every query is one of an id's
    tracklets on one of its cameras; the gallery holds tracklets of the same ids on their
    cameras (so some share the query's camera and are removed by the protocol) plus pid-0
    distractors. A feature is its id's center + a camera offset + `noise` × N(0, 1); a smaller
    `noise` is a stronger identity signal. The defaults are the MARS test split.
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
        f = centers[pids] + cam_offset[camids] + noise * torch.randn(len(pids), dim, generator=gen)
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


def build_peer() -> tuple[ModuleType | None, dict[str, Any]]:
    """fast-reid's compiled `rank_cy` from `CACHE`, built there first if missing.

    Returns:
        `(module, info)`; the module is None when a step failed, and `info["error"]` says which.
    """
    info: dict[str, Any] = {**PEER, "cache": str(CACHE.relative_to(CACHE.parents[2]))}
    lib = CACHE / "lib"
    try:
        if not list(lib.glob("rank_cy*.so")):
            CACHE.mkdir(parents=True, exist_ok=True)
            pip = [sys.executable, "-m", "pip"]
            peer = f"fastreid=={PEER['fastreid']}"
            run_step("pip download", [*pip, "download", peer, "--no-deps", "-d", str(CACHE)])
            target = ["--no-deps", "--target", str(CACHE / "cython")]
            run_step("pip install", [*pip, "install", f"cython=={PEER['cython']}", *target])
            with zipfile.ZipFile(next(CACHE.glob("fastreid-*.whl"))) as zf:
                pyx = CACHE / "rank_cy.pyx"
                pyx.write_bytes(zf.read("fastreid/evaluation/rank_cylib/rank_cy.pyx"))
            env = {**os.environ, "PYTHONPATH": str(CACHE / "cython")}
            run_step("compile", [sys.executable, "-c", BUILD_PEER, str(pyx), str(lib)], env=env)
        spec = importlib.util.spec_from_file_location("rank_cy", next(lib.glob("rank_cy*.so")))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except (OSError, StopIteration, KeyError, zipfile.BadZipFile, ImportError, RuntimeError) as err:
        return None, {**info, "built": False, "error": f"{type(err).__name__}: {err}"}
    return module, {**info, "built": True}


def run_step(name: str, cmd: list[str], **kwargs: Any) -> None:
    """Runs one build step, raising RuntimeError with the tail of its output if it fails."""
    out = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if out.returncode != 0:
        raise RuntimeError(f"{name} failed ({out.returncode}): {(out.stdout + out.stderr)[-800:]}")


def fastreid_rank(
    peer: ModuleType, dist: torch.Tensor | np.ndarray, *ids: np.ndarray
) -> tuple[np.ndarray, float]:
    """fast-reid's Market-1501 path: `evaluate_cy` gives the CMC and every valid query's AP."""
    dist = dist.cpu().numpy() if isinstance(dist, torch.Tensor) else dist
    cmc, all_ap, _ = peer.evaluate_cy(dist, *ids, MAX_RANK, use_metric_cuhk03=False)
    return np.asarray(cmc), float(np.mean(all_ap))


def detailed(dist: torch.Tensor | np.ndarray, *ids: np.ndarray) -> tuple[np.ndarray, float]:
    """`evaluate_detailed` with its top-10 rank lists, reduced to CMC and mAP."""
    result = evaluate_detailed(dist, *ids, MAX_RANK, top_k=10)
    return result.cmc, result.mAP


def timed(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """`(seconds, fn(*args))`."""
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def untie(dist: np.ndarray) -> np.ndarray:
    """Each distance replaced by its 0-based place in its row under reidlib's rule (distance,
    then gallery index), as float32: the same ranking, without a tie."""
    order = np.argsort(dist, axis=1, kind="stable")
    places = np.broadcast_to(np.arange(dist.shape[1], dtype=np.float32), dist.shape)
    out = np.empty_like(dist, dtype=np.float32)
    np.put_along_axis(out, order, places, axis=1)
    return out


def differences(
    results: dict[str, tuple[np.ndarray, float]], ref: tuple[np.ndarray, float]
) -> dict[str, dict[str, float]]:
    """Largest CMC and mAP difference of each result from `ref`."""
    return {
        k: {"max_abs_cmc": float(np.abs(c - ref[0]).max()), "abs_map": abs(m - ref[1])}
        for k, (c, m) in results.items()
    }


def run_strength(
    name: str, *, device: torch.device, repeats: int, peer: ModuleType | None
) -> dict[str, Any]:
    """Every evaluator on one strength's distance matrix, interleaved in each repeat."""
    data = mars_like(device=device, noise=STRENGTHS[name])
    sync(device)
    t_dist, dist = timed(pairwise_distance, data["q"], data["g"])
    sync(device)
    dist_np = dist.cpu().numpy()
    ids = [data[k].cpu().numpy() for k in ("q_pids", "g_pids", "q_camids", "g_camids")]
    runs: dict[str, Callable[[Any], tuple[np.ndarray, float]]] = {
        "evaluate": lambda d: evaluate(d, *ids, MAX_RANK),
        "evaluate_detailed": lambda d: detailed(d, *ids),
    }
    if peer is not None:
        runs["fastreid_evaluate_cy"] = lambda d: fastreid_rank(peer, d, *ids)
    times: dict[str, list[float]] = {k: [] for k in runs}
    results = {k: run(dist) for k, run in runs.items()}  # warm-up
    for _ in range(repeats):
        for k, run in runs.items():
            times[k].append(timed(run, dist)[0])
    t_base, base = timed(baseline_rank, dist_np, *ids)
    untied = untie(dist_np)
    untied_results = {k: run(untied) for k, run in runs.items()}
    ours_ref = results["evaluate"]
    on_untied = differences(untied_results, untied_results["evaluate"])
    on_original = differences({**results, "numpy_baseline": base}, ours_ref)
    cmc, mAP = ours_ref
    med = {k: statistics.median(v) for k, v in times.items()}
    out = {
        "noise_std": STRENGTHS[name],
        "results": {"rank1": float(cmc[0]), "rank5": float(cmc[4]), "mAP": mAP},
        "distance_s": t_dist,
        "times_s": times,
        "median_s": med,
        "numpy_baseline_s": t_base,
        "tied_neighbours_in_rows": int((np.diff(np.sort(dist_np, axis=1), axis=1) == 0).sum()),
        "differences_on_untied": on_untied,
        "differences_on_original": on_original,
        "reidlib_same_on_untied": all(
            np.array_equal(untied_results[k][0], results[k][0])
            and untied_results[k][1] == results[k][1]
            for k in ("evaluate", "evaluate_detailed")
        ),
    }
    out["agree_to_tolerance"] = out["reidlib_same_on_untied"] and all(
        max(d.values()) <= TOLERANCE for d in [*on_untied.values(), on_original["numpy_baseline"]]
    )
    if peer is not None:
        fr = med["fastreid_evaluate_cy"]
        out["speedup_vs_fastreid"] = {k: fr / med[k] for k in ("evaluate", "evaluate_detailed")}
    print(
        f"{name}: rank-1 {cmc[0]:.3f}, mAP {mAP:.3f}; "
        + ", ".join(f"{k} {v:.3f} s" for k, v in med.items())
        + f", numpy baseline {t_base:.2f} s; agree: {out['agree_to_tolerance']}"
    )
    return out


def read_status_kib(field: str) -> int:
    """A `VmRSS`/`VmHWM` line of /proc/self/status, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field} line")


def memory_child(device: torch.device) -> dict[str, Any]:
    """Runs in a fresh process: the peak host memory each evaluator adds on top of its inputs."""
    data = mars_like(device=device)
    dist = pairwise_distance(data["q"], data["g"])
    dist_np = dist.cpu().numpy()
    ids = [data[k].cpu().numpy() for k in ("q_pids", "g_pids", "q_camids", "g_camids")]
    peer = build_peer()[0]
    calls = {
        "evaluate": lambda: evaluate(dist, *ids, MAX_RANK),
        "evaluate_detailed": lambda: evaluate_detailed(dist, *ids, MAX_RANK),
    }
    if peer is not None:
        calls["fastreid_evaluate_cy"] = lambda: fastreid_rank(peer, dist_np, *ids)
    extra = {}
    for name, call in calls.items():
        # Hand freed memory back to the OS, so that the call cannot hide its allocations by
        # reusing it (glibc only); writing 5 to clear_refs resets the peak RSS (VmHWM) to the
        # current RSS (Linux >= 4.0), so VmHWM afterwards is the peak of this call alone.
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        before = read_status_kib("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")
        call()
        extra[name] = (read_status_kib("VmHWM") - before) * 1024
    return {
        "method": (
            "fresh process; inputs and the distance matrix built first; before each call "
            "malloc_trim(0) and a VmHWM reset through /proc/self/clear_refs; extra peak = VmHWM "
            "after the call - VmRSS before it (host memory; a CUDA matrix is copied to the host "
            "and ranked there)"
        ),
        "distance_matrix_bytes": dist_np.nbytes,
        "extra_peak_bytes": extra,
        "extra_peak_mib": {k: v / 2**20 for k, v in extra.items()},
    }


def measure_memory(device: torch.device) -> dict[str, Any]:
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
    peer, peer_info = build_peer()
    print(f"fast-reid peer: {'built' if peer else peer_info['error']}")
    strengths = {
        name: run_strength(name, device=device, repeats=args.repeats, peer=peer)
        for name in STRENGTHS
    }
    memory = measure_memory(device)
    speedups = [min(s["speedup_vs_fastreid"].values()) for s in strengths.values() if peer]
    result = {
        "benchmark": "CMC + mAP at MARS scale: reidlib against fast-reid's Cython evaluate_cy",
        "scale": {
            "num_query": NUM_Q,
            "num_gallery": NUM_G,
            "feature_dim": DIM,
            "num_ids": NUM_IDS,
            "num_cameras": NUM_CAMS,
            "num_distractors": NUM_DISTRACTORS,
            "max_rank": MAX_RANK,
            "dtype": "float32",
            "distance": "squared Euclidean",
        },
        "machine": info,
        "repeats": args.repeats,
        "peer": {
            **peer_info,
            "protocol": (
                "same as reidlib (same pid and camid removed, queries without a true match "
                "skipped, AP over the whole list, CMC over valid queries) except ties: its "
                "unstable np.argsort orders them arbitrarily, and float32 MARS-scale "
                "distances do tie (tied_neighbours_in_rows). Results are therefore compared on "
                "each matrix untied (every distance replaced by its place in the row under "
                "reidlib's rule, distance then gallery index); reidlib must give the same "
                "results on both, and the numpy baseline (stable sort) agrees on the original"
            ),
        },
        "strengths": strengths,
        "memory": memory,
        "targets": {
            "speedup_vs_fastreid": TARGET_SPEEDUP,
            "extra_peak_bytes": TARGET_EXTRA_BYTES,
            "agreement": TOLERANCE,
        },
        "meets_targets": bool(speedups)
        and min(speedups) >= TARGET_SPEEDUP
        and all(s["agree_to_tolerance"] for s in strengths.values())
        and max(memory["extra_peak_bytes"].values()) < TARGET_EXTRA_BYTES,
    }
    write_results(result, args.out)
    print(
        f"slowest reidlib call vs fast-reid: ×{min(speedups, default=float('nan')):.1f}; extra "
        f"peak memory (MiB) {memory['extra_peak_mib']}; meets targets: {result['meets_targets']}"
    )


if __name__ == "__main__":
    main()
