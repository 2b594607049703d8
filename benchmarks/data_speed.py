"""Data layer speed: the training loader's frames per second, and synthetic generation time.

Loader: the full profile's training batches (`reidlib.training.epoch_batches`: decode a JPEG
frame, resize to 224×112, flip, pad, crop, normalise, random erasing; T = 4 restricted random
frames per tracklet; C × K = 8 × 4 identity batches) over the default synthetic MARS layout,
with 0, 2 and 4 DataLoader workers, the main process on one torch thread (and, with 0
workers, also on torch's default). Frames per second are measured after the warm-up (worker
start-up, timed apart). Generation: `make_synthetic` of each layout at its defaults. Writes
`benchmarks/results/data_speed.json`.

    PYTHONPATH=. venv/bin/python benchmarks/data_speed.py   # about 2 min
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from reidlib.benchmarking import result_header, time_loader, write_result
from reidlib.config import load_profile
from reidlib.data import SYNTHETIC_DEFAULTS, Mars, make_synthetic, read_manifest
from reidlib.training import epoch_batches
from reidlib.training.distributed import DistInfo

RESULTS = Path(__file__).resolve().parent / "results" / "data_speed.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2, 4])
    parser.add_argument("--batches", type=int, default=40, help="timed batches per setting")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    header = result_header("training loader frames/s and synthetic generation", device="cpu")
    generation, loader = {}, []
    with tempfile.TemporaryDirectory(prefix="reidlib-data-speed-") as tmp:
        for layout in SYNTHETIC_DEFAULTS:
            start = time.perf_counter()
            root = make_synthetic(Path(tmp) / layout, layout=layout, progress=False)
            seconds, manifest = time.perf_counter() - start, read_manifest(root)
            frames = manifest["counts"]["frames"]
            generation[layout] = {"seconds": round(seconds, 2), "frames": frames}
            generation[layout]["frames_per_s"] = round(frames / seconds)
            generation[layout]["bytes"] = sum(p.stat().st_size for p in root.rglob("*"))
            generation[layout].update(counts=manifest["counts"], params=manifest["params"])
            print(f"generation {layout}: {seconds:.2f} s for {frames} frames")
        dataset = Mars(Path(tmp) / "mars")
        default_threads = torch.get_num_threads()
        settings = [(w, 1, args.batches) for w in args.workers]
        if 0 in args.workers and default_threads > 1:  # intra-op threads on per-frame ops
            settings.insert(1, (0, default_threads, max(args.batches // 4, 1)))
        for workers, threads, batches in settings:
            cfg = load_profile("full").with_overrides(data={"num_workers": workers})
            epochs = epoch_batches(cfg, dataset, dist=DistInfo(), device=torch.device("cpu"))
            torch.set_num_threads(threads)
            run = time_loader(epochs.epoch, batches=batches, warmup=1 + 2 * workers)
            torch.set_num_threads(default_threads)
            loader.append({"num_workers": workers, "main_process_torch_threads": threads, **run})
            print(f"loader, {workers} workers, {threads} threads: {run['frames_per_s']} frames/s")
    cores = header["machine"]["cpu_cores_usable"]
    report = {
        **header,
        "loader": {
            "what": "the full profile's training batches (decode, resize 224x112, flip, pad 10, "
            "crop, normalise, random erasing; T=4 restricted random frames; 8 ids x 4 "
            "tracklets) over the synthetic MARS layout at its defaults (JPEG 128x64 frames)",
            "runs": loader,
            "note": f"{cores} usable cores: more workers oversubscribe the CPU, so their figures "
            "show contention, not scaling. Workers run torch with one thread; with 0 workers "
            "torch's default threads pay for synchronisation on per-frame tensor ops when the "
            "machine is busy (see load_average_at_start).",
        },
        "generation": generation,
    }
    print(f"written to {write_result(report, args.out)}")


if __name__ == "__main__":
    main()
