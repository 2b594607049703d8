"""Data layer speed: the training loader's frames per second, and synthetic generation time.

Loader: the training pipeline of the paper (decode a JPEG frame, resize to 224×112, flip, pad,
crop, normalise, random erasing), restricted random sampling of T = 4 frames per tracklet and
C × K = 8 × 4 identity batches over the default synthetic MARS layout, with 0, 2 and 4 DataLoader
workers. Frames per second are measured after the first batch (worker start-up is reported
separately). Generation: `make_synthetic` of each layout at its defaults. Writes
`benchmarks/results/data_speed.json`.

    venv/bin/python benchmarks/data_speed.py
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from common import RESULTS_DIR, machine_info, time_loader, write_results

from reidlib.data import (
    SYNTHETIC_DEFAULTS,
    Mars,
    VideoDataset,
    build_train_transform,
    make_synthetic,
    read_manifest,
)

RESULTS = RESULTS_DIR / "data_speed.json"
SIZE = (224, 112)  # network input, docs/decisions.md §3
CLIP_LEN, NUM_IDS_PER_BATCH, NUM_INSTANCES = 4, 8, 4


def time_generation(workdir: Path) -> dict[str, dict]:
    """Seconds to write each layout at its default size."""
    out = {}
    for layout in SYNTHETIC_DEFAULTS:
        start = time.perf_counter()
        root = make_synthetic(workdir / layout, layout=layout, progress=False)
        seconds = time.perf_counter() - start
        manifest = read_manifest(root)
        frames = manifest["counts"]["frames"]
        out[layout] = {
            "seconds": round(seconds, 2),
            "frames": frames,
            "frames_per_s": round(frames / seconds),
            "bytes": sum(p.stat().st_size for p in root.rglob("*") if p.is_file()),
            "counts": manifest["counts"],
            "params": manifest["params"],
        }
        print(f"generation {layout}: {seconds:.2f} s for {frames} frames")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2, 4])
    parser.add_argument("--batches", type=int, default=40, help="timed batches per setting")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    info = machine_info(torch.device("cpu"))
    with tempfile.TemporaryDirectory(prefix="reidlib-data-speed-") as tmp:
        generation = time_generation(Path(tmp))
        train = Mars(Path(tmp) / "mars").train
        dataset = VideoDataset(train, clip_len=CLIP_LEN, transform=build_train_transform(size=SIZE))
        batching = {
            "pids": [t.pid for t in train],
            "num_ids_per_batch": NUM_IDS_PER_BATCH,
            "num_instances": NUM_INSTANCES,
            "clip_len": CLIP_LEN,
        }
        default_threads = torch.get_num_threads()
        loader = [
            time_loader(dataset, num_workers=w, batches=args.batches, main_threads=1, **batching)
            for w in args.workers
        ]
        if 0 in args.workers and default_threads > 1:  # intra-op threads on per-frame ops
            loader.insert(
                1,
                time_loader(
                    dataset,
                    num_workers=0,
                    batches=max(args.batches // 4, 1),
                    main_threads=default_threads,
                    **batching,
                ),
            )
    cores = info["cpu_cores_usable"]
    report = {
        "machine": info,
        "loader": {
            "what": "decode + train transform (resize 224x112, flip, pad 10, crop, normalise, "
            "random erasing), T=4 restricted random frames, batches of 8 ids x 4 tracklets, "
            "synthetic MARS layout at its defaults (JPEG 128x64 frames)",
            "input_size": list(SIZE),
            "runs": loader,
            "note": f"{cores} usable cores: more than {cores} workers oversubscribe the CPU, "
            "so their numbers show contention, not scaling. Workers run torch with one thread; "
            "the main process is timed with one thread, and (0 workers) also with torch's "
            "default, where per-frame tensor ops pay for thread synchronisation when the "
            "machine is busy. The machine is shared, so see load_average_at_start.",
        },
        "generation": generation,
    }
    write_results(report, args.out)


if __name__ == "__main__":
    main()
