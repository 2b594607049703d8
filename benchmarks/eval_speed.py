"""Evaluator speed and memory at MARS scale: 1,980 queries × 9,330 gallery tracklets, D = 2048.

`reidlib.evaluation.evaluate` and `evaluate_detailed` (with top-10 rank lists) against the
fastest peer we know, fast-reid 1.4.0's Cython `evaluate_cy`, on the same float32 distances of
`reidlib.benchmarking.mars_like_features` at three strengths of identity signal, taking turns in
every repeat. The peer is built on demand in the git-ignored `benchmarks/.cache/` (`pip
download` of its wheel, Cython by `pip install --target`, gcc `-O3`); a failed step is recorded
and the peer left out. It ranks with an unstable `np.argsort`, which orders the ties float32
distances have at this scale arbitrarily, so results are compared on each matrix untied (each
distance replaced by its place under reidlib's rule), where reidlib must give exactly its
results on the original; a per-query NumPy ranking (stable argsort, as torchreid's Python path)
is compared on the original. Peak host memory is measured in a fresh process.

    PYTHONPATH=. venv/bin/python benchmarks/eval_speed.py                 # CPU, about 2 min
    PYTHONPATH=. venv/bin/python benchmarks/eval_speed.py --device cuda   # distances on CUDA
"""

from __future__ import annotations

import argparse
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

from reidlib.benchmarking import (
    extra_peak_bytes,
    mars_like_features,
    resolve_benchmark_device,
    result_header,
    sync,
    write_result,
)
from reidlib.evaluation import evaluate, evaluate_detailed, pairwise_distance

MAX_RANK = 50
STRENGTHS = {"weak": 4.0, "medium": 3.0, "strong": 2.4}  # noise std; rank-1 ≈ 0.29, 0.86, 1.0
TARGET_SPEEDUP, TARGET_EXTRA_BYTES, TOLERANCE = 2.0, 1 << 30, 1e-5
RESULTS = Path(__file__).resolve().parent / "results" / "eval_speed.json"
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
Ranked = tuple[np.ndarray, float]  # (CMC, mAP)


def build_peer() -> tuple[ModuleType | None, dict[str, Any]]:
    """fast-reid's compiled `rank_cy` from `CACHE`, built there first if missing; the module
    is None when a step failed, and the info's `error` says which."""
    info: dict[str, Any] = {**PEER, "cache": "benchmarks/.cache/fastreid"}
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
    """One build step; RuntimeError with the tail of its output if it fails."""
    out = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if out.returncode != 0:
        raise RuntimeError(f"{name} failed ({out.returncode}): {(out.stdout + out.stderr)[-800:]}")


def evaluators(peer: ModuleType | None, ids: tuple[np.ndarray, ...]) -> dict[str, Callable]:
    """Name -> distances -> (CMC, mAP): reidlib's two calls and, if built, fast-reid's."""

    def detailed(d: Any) -> Ranked:  # with the top-10 rank lists, reduced to CMC and mAP
        result = evaluate_detailed(d, *ids, MAX_RANK, top_k=10)
        return result.cmc, result.mAP

    calls: dict[str, Callable[[Any], Ranked]] = {
        "evaluate": lambda d: evaluate(d, *ids, MAX_RANK),
        "evaluate_detailed": detailed,
    }
    if peer is not None:  # fast-reid's Market-1501 path: CMC and every valid query's AP

        def fastreid(d: Any) -> Ranked:
            d = d.cpu().numpy() if isinstance(d, torch.Tensor) else d
            cmc, all_ap, _ = peer.evaluate_cy(d, *ids, MAX_RANK, use_metric_cuhk03=False)
            return np.asarray(cmc), float(np.mean(all_ap))

        calls["fastreid_evaluate_cy"] = fastreid
    return calls


def numpy_baseline(dist: np.ndarray, q_pids, g_pids, q_camids, g_camids) -> Ranked:
    """Per-query NumPy ranking: a stable argsort of the row, the removal, CMC, AP."""
    curves, aps = [], []
    for i in range(dist.shape[0]):
        order = np.argsort(dist[i], kind="stable")
        removed = (g_pids[order] == q_pids[i]) & (g_camids[order] == q_camids[i])
        hits = (g_pids[order] == q_pids[i])[~removed]
        if hits.any():
            cum = hits.cumsum()
            curves.append(np.minimum(cum, 1)[:MAX_RANK])
            aps.append((cum / np.arange(1, len(hits) + 1))[hits].sum() / hits.sum())
    return np.mean(curves, axis=0), float(np.mean(aps))


def untie(dist: np.ndarray) -> np.ndarray:
    """Each distance replaced by its 0-based place in its row under reidlib's rule (distance,
    then gallery index), as float32: the same ranking without a tie."""
    order = np.argsort(dist, axis=1, kind="stable")
    places = np.broadcast_to(np.arange(dist.shape[1], dtype=np.float32), dist.shape)
    out = np.empty_like(dist, dtype=np.float32)
    np.put_along_axis(out, order, places, axis=1)
    return out


def differences(results: dict[str, Ranked], ref: Ranked) -> dict[str, dict[str, float]]:
    """Largest CMC and mAP difference of each result from `ref`."""
    return {
        k: {"max_abs_cmc": float(np.abs(c - ref[0]).max()), "abs_map": abs(m - ref[1])}
        for k, (c, m) in results.items()
    }


def timed(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def run_strength(
    name: str, *, device: torch.device, repeats: int, peer: ModuleType | None
) -> dict[str, Any]:
    """Every evaluator on one strength's distance matrix, taking turns in each repeat."""
    data = mars_like_features(device=device, noise=STRENGTHS[name])
    sync(device)
    t_dist, dist = timed(pairwise_distance, data.q, data.g)
    sync(device)
    dist_np, ids = dist.cpu().numpy(), data.ids()
    calls = evaluators(peer, ids)
    results = {k: call(dist) for k, call in calls.items()}  # warm-up
    times: dict[str, list[float]] = {k: [] for k in calls}
    for _ in range(repeats):
        for k, call in calls.items():
            times[k].append(timed(call, dist)[0])
    t_base, base = timed(numpy_baseline, dist_np, *ids)
    untied_dist = untie(dist_np)
    untied = {k: call(untied_dist) for k, call in calls.items()}
    on_untied = differences(untied, untied["evaluate"])
    on_original = differences({**results, "numpy_baseline": base}, results["evaluate"])
    cmc, mAP = results["evaluate"]
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
            np.array_equal(untied[k][0], results[k][0]) and untied[k][1] == results[k][1]
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


def memory_child(device: torch.device) -> dict[str, Any]:
    """In a fresh process: the peak host memory each evaluator adds on top of its inputs."""
    data = mars_like_features(device=device)
    dist = pairwise_distance(data.q, data.g)
    extra = {
        name: extra_peak_bytes(lambda call=call: call(dist), device=torch.device("cpu"))
        for name, call in evaluators(build_peer()[0], data.ids()).items()
    }
    return {
        "method": "fresh process, inputs made first; reidlib.benchmarking.extra_peak_bytes of "
        "each call on the host (where a CUDA matrix is ranked)",
        "distance_matrix_bytes": dist.numel() * dist.element_size(),
        "extra_peak_bytes": extra,
        "extra_peak_mib": {k: v / 2**20 for k, v in extra.items()},
    }


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
    header = result_header(
        "CMC + mAP at MARS scale: reidlib against fast-reid's Cython evaluate_cy", device=device
    )
    peer, peer_info = build_peer()
    print(f"fast-reid peer: {'built' if peer else peer_info['error']}")
    strengths = {
        name: run_strength(name, device=device, repeats=args.repeats, peer=peer)
        for name in STRENGTHS
    }
    child = [sys.executable, __file__, "--memory-child", "--device", device.type]
    memory = json.loads(
        subprocess.run(child, check=True, capture_output=True, text=True).stdout.splitlines()[-1]
    )
    speedups = [min(s["speedup_vs_fastreid"].values()) for s in strengths.values() if peer]
    result = {
        **header,
        "scale": "mars_like_features' defaults: 1,980 x 9,330, D = 2048, 625 ids on 6 cameras, "
        f"800 distractors; float32 squared Euclidean distances; max rank {MAX_RANK}",
        "repeats": args.repeats,
        "peer": {
            **peer_info,
            "protocol": "reidlib's, except ties (tied_neighbours_in_rows), which its unstable "
            "argsort orders arbitrarily: compared on each matrix untied",
        },
        "strengths": strengths,
        "memory": memory,
        "targets": {"speedup_vs_fastreid": TARGET_SPEEDUP, "agreement": TOLERANCE}
        | {"extra_peak_bytes": TARGET_EXTRA_BYTES},
        "meets_targets": bool(speedups)
        and min(speedups) >= TARGET_SPEEDUP
        and all(s["agree_to_tolerance"] for s in strengths.values())
        and max(memory["extra_peak_bytes"].values()) < TARGET_EXTRA_BYTES,
    }
    print(f"extra peak MiB {memory['extra_peak_mib']}; meets targets: {result['meets_targets']}")
    print(f"written to {write_result(result, args.out)}")


if __name__ == "__main__":
    main()
