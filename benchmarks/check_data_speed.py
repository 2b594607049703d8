"""Frame check speed: `check_dataset` on the synthetic MARS (JPEG) and PRID2011 (PNG) layouts,
and what it predicts for real MARS.

For each layout at its synthetic defaults: the CPU time per frame in one process of PIL's
`Image.open` + `verify` and of the whole `check_frame` (with the JPEG end-of-image check);
`check_dataset` as a user runs it; on the frames listed `--copies` times
through symbolic links (so that starting the workers is a small part of the time), worker
processes against threads and three chunk sizes; and a run after evicting the frames' cached
contents (`posix_fadvise(DONTNEED)`; inodes stay cached), whose extra time per frame is the
wait for the disk. Writes `benchmarks/results/check_data_speed.json`.

    PYTHONPATH=. venv/bin/python benchmarks/check_data_speed.py   # data/synthetic/<layout>, made if missing
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PIL import Image

from reidlib.benchmarking import result_header, write_result
from reidlib.data import (
    Tracklet,
    VideoReIDDataset,
    build_dataset,
    check_dataset,
    check_frame,
    ensure_synthetic,
)
from reidlib.data.check import CHUNK_SIZE

RESULTS = Path(__file__).resolve().parent / "results" / "check_data_speed.json"
MARS_FRAMES, MARS_CORES = 1_191_003, 8  # real MARS (JPEG 256×128), the target machine's cores
LAYOUTS = {"mars": "JPEG", "prid2011": "PNG"}
CHUNK_SIZES = (64, 256, 1024)


def verify_only(path: str) -> None:
    """PIL's header check alone, without the JPEG end-of-image check."""
    with open(path, "rb") as file, Image.open(file) as image:
        image.verify()


def cpu_seconds(run: Callable[[], Any], *, repeats: int) -> float:
    """The least CPU time of this process over `repeats` calls of `run()` (on a shared
    machine what the work costs, whoever else runs)."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return min(times)


def per_frame_us(paths: list[str], *, repeats: int) -> dict[str, float]:
    """CPU microseconds per frame in one process, files cached."""
    verify = cpu_seconds(lambda: [verify_only(p) for p in paths], repeats=repeats)
    full = cpu_seconds(lambda: [check_frame(p) for p in paths], repeats=repeats)
    us = {"open_verify_us": verify / len(paths) * 1e6, "check_frame_us": full / len(paths) * 1e6}
    return {k: round(v, 2) for k, v in us.items()}


def listing_us(*, frames: int = 120_000, repeats: int) -> float:
    """CPU microseconds per frame of what `check_dataset` does before any worker starts: the
    distinct frame paths as strings, from new `Path` objects built as the loaders build them."""
    folder = Path("/data/mars/bbox_train/0001")  # never opened

    def list_paths() -> float:
        tracklets = [
            tuple(folder / f"0001C1T{k:04d}F{i:03d}.jpg" for i in range(60))
            for k in range(frames // 60)
        ]
        start = time.process_time()
        list(dict.fromkeys(str(f) for t in tracklets for f in t))
        return time.process_time() - start

    seconds = min(list_paths() for _ in range(repeats))
    return round(seconds / frames * 1e6, 2)


def linked_copies(paths: list[str], folder: Path, *, copies: int) -> VideoReIDDataset:
    """A dataset whose one tracklet lists every frame `copies` times, each through its own link."""
    frames = []
    for copy in range(copies):
        for i, path in enumerate(paths):
            link = folder / f"{copy:02d}_{i:06d}{Path(path).suffix}"
            link.symlink_to(Path(path).absolute())  # a relative target would name the link's folder
            frames.append(link)
    return VideoReIDDataset(
        root=folder, train=[Tracklet(tuple(frames), 0, 0)], query=[], gallery=[]
    )


def in_threads(paths: list[str], *, workers: int, chunk_size: int) -> float:
    """Seconds to check `paths` in a thread pool, chunked as `check_dataset` chunks them."""
    chunks = [paths[i : i + chunk_size] for i in range(0, len(paths), chunk_size)]
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda chunk: [check_frame(p) for p in chunk], chunks))
    return time.perf_counter() - start


def evict(paths: list[str]) -> None:
    """Drops the files' contents from the page cache (clean pages only; nothing is written)."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)


def run(dataset: VideoReIDDataset, **kwargs: Any) -> dict[str, Any]:
    """`check_dataset` once; its time, rate and workers."""
    check = check_dataset(dataset, progress=False, **kwargs)
    if not check.ok:
        raise SystemExit(check.report())
    return {
        "workers": check.workers,
        "chunk_size": kwargs.get("chunk_size", CHUNK_SIZE),
        "frames": check.num_frames,
        "seconds": round(check.seconds, 4),
        "frames_per_s": round(check.frames_per_s),
    }


def measure_layout(layout: str, *, root: Path, copies: int, repeats: int, cores: int) -> dict:
    """Every measurement on one synthetic layout."""
    dataset = build_dataset(layout, root)
    tracklets = (*dataset.train, *dataset.query, *dataset.gallery)
    paths = list(dict.fromkeys(str(f) for t in tracklets for f in t.frames))
    run(dataset, workers=1)  # warm the page cache
    out: dict[str, Any] = {"frames": len(paths), "serial": per_frame_us(paths, repeats=repeats)}
    out["as_run"] = [run(dataset, workers=w) for w in sorted({1, cores})]
    with tempfile.TemporaryDirectory(prefix="reidlib-check-speed-") as tmp:
        big = linked_copies(paths, Path(tmp), copies=copies)
        linked = [str(f) for f in big.train[0].frames]
        processes = {w: run(big, workers=w) for w in range(1, cores + 1)}
        threads = in_threads(linked, workers=cores, chunk_size=CHUNK_SIZE)
        out["linked_copies"] = {
            "copies": copies,
            "frames": len(linked),
            "processes": list(processes.values()),
            "threads": {
                "workers": cores,
                "seconds": round(threads, 4),
                "frames_per_s": round(len(linked) / threads),
            },
            "chunk_sizes": [run(big, workers=cores, chunk_size=c) for c in CHUNK_SIZES],
            "speedup_at_max_workers": round(
                processes[1]["seconds"] / processes[cores]["seconds"], 2
            ),
        }
    evict(paths)
    cold = run(dataset, workers=1)
    cached = run(dataset, workers=1)
    out["contents_evicted"] = {
        "one_process": cold,
        "cached_again": cached,
        "read_wait_us": round((cold["seconds"] - cached["seconds"]) / len(paths) * 1e6, 1),
    }
    return out


def predict_mars(mars: dict[str, Any], *, listing: float) -> dict[str, Any]:
    """Seconds for real MARS on `MARS_CORES` processes: the listing in this process, then the
    CPU cost per JPEG measured here shared by the workers (they share nothing, so the cost
    divides by the cores), then, for files not cached, the read waits measured here."""
    listing_s = MARS_FRAMES * listing / 1e6
    check_s = MARS_FRAMES * mars["serial"]["check_frame_us"] / 1e6
    cached_s = listing_s + check_s / MARS_CORES
    read_s = MARS_FRAMES * mars["contents_evicted"]["read_wait_us"] / 1e6
    return {
        "frames": MARS_FRAMES,
        "cores": MARS_CORES,
        "listing_s": round(listing_s, 1),
        "check_cpu_s": round(check_s, 1),
        "files_cached_s": round(cached_s, 1),
        "files_evicted_parallel_reads_s": round(cached_s + read_s / MARS_CORES, 1),
        "files_evicted_serial_reads_s": round(cached_s + read_s, 1),
        "assumptions": "a 256x128 JPEG header costs what a synthetic 128x64 one does (verify "
        "decodes no pixels); this CPU; 8 idle cores; this machine's disk, its 8 readers served "
        "at once (parallel) or one at a time (serial); a cold spinning disk is slower",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("data/synthetic"), help="ROOT/<layout>")
    parser.add_argument("--copies", type=int, default=10, help="links per frame for scaling")
    parser.add_argument("--repeats", type=int, default=5, help="passes per CPU-time figure")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    header = result_header(
        "check_dataset (PIL open + verify, JPEG end-of-image marker) over every distinct frame "
        "of train, query and gallery; synthetic layouts at their defaults",
        device="cpu",
    )
    cores = header["machine"]["cpu_cores_usable"]
    listing = listing_us(repeats=args.repeats)
    layouts = {}
    for layout, kind in LAYOUTS.items():
        root = ensure_synthetic(args.root / layout, layout=layout, progress=False)
        measured = measure_layout(
            layout, root=root, copies=args.copies, repeats=args.repeats, cores=cores
        )
        layouts[layout] = {"format": kind, **measured}
        print(f"{layout}: {layouts[layout]['serial']}")
    report = {
        **header,
        "layouts": layouts,
        "listing_us_per_frame": listing,
        "real_mars_prediction": predict_mars(layouts["mars"], listing=listing),
        "note": "The machine is shared (see load_average_at_start): per-frame and listing costs "
        "are CPU time, the least of several passes; the runs are wall time, and with more "
        "workers than idle cores they show contention, not scaling. Threads share the GIL "
        "over Python-level header parsing.",
    }
    print(f"written to {write_result(report, args.out)}")


if __name__ == "__main__":
    main()
