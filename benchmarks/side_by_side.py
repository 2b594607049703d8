"""Quick runs one after the other against side by side on this CPU.

Trains the same quick runs (the recipe on the default synthetic MARS, seeds 100, 101, ...: no
notebook uses them) twice, each time into a fresh runs folder that shares the repository's
cached stand-in backbones and decoded frames:

- `one after the other`: `reidlib.training.train` of each run in this process, with every
  thread (what a notebook did before runs were trained side by side);
- `side by side`: `reidlib.training.side_by_side.train_side_by_side`, then each run read back, as
  `NotebookRun.train_all` does.

Writes the wall time of each way and every run's rank-1 and mAP both ways (a run's thread count
moves its numbers in their last digits) to `benchmarks/results/side_by_side.json`.

    venv/bin/python benchmarks/side_by_side.py             # 4 runs, about 4 minutes on 2 cores
    venv/bin/python benchmarks/side_by_side.py --runs 2    # a shorter measurement
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import torch

from reidlib.benchmarking import result_header, write_result
from reidlib.config import load_profile
from reidlib.data.frame_cache import FRAMES_FOLDER
from reidlib.training import train
from reidlib.training.pretrain import DATA_FOLDER
from reidlib.training.side_by_side import share_threads, train_side_by_side, unfinished

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "side_by_side.json"
FIRST_SEED = 100


def fresh_runs_root(folder: Path) -> Path:
    """A runs folder with the repository's stand-ins, their data and the decoded frames (links),
    and no run."""
    folder.mkdir(parents=True)
    for cached in (REPO / "runs").iterdir():
        if cached.name.startswith("pretrain-") or cached.name in (DATA_FOLDER, FRAMES_FOLDER):
            (folder / cached.name).symlink_to(cached, target_is_directory=True)
    return folder


def metrics(trainer) -> dict[str, float]:
    last = trainer.history[-1]
    return {"seed": trainer.cfg.train.seed, "rank1": last["rank1"], "mAP": last["mAP"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4, help="quick runs each way")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    quick = load_profile("quick").with_overrides(data={"root": str(REPO / "data/synthetic/mars")})
    cfgs = [quick.with_overrides(train={"seed": FIRST_SEED + i}) for i in range(args.runs)]
    threads = torch.get_num_threads()
    # untimed: the stand-in backbone, the synthetic data and the decoded frames exist first
    unfinished(cfgs[:1], runs_root=REPO / "runs")
    with tempfile.TemporaryDirectory(prefix="reidlib-side-by-side-") as tmp:
        warm = fresh_runs_root(Path(tmp) / "warm")
        train(cfgs[0].with_overrides(train={"epochs": 1}), runs_root=warm, progress=False)
        shutil.rmtree(warm)

        root = fresh_runs_root(Path(tmp) / "one-after-the-other")
        start = time.perf_counter()
        alone = [train(cfg, runs_root=root, progress=False) for cfg in cfgs]
        alone_seconds = time.perf_counter() - start

        root = fresh_runs_root(Path(tmp) / "side-by-side")
        start = time.perf_counter()
        train_side_by_side(cfgs, runs_root=root, progress=False)
        beside = [train(cfg, runs_root=root, progress=False, check_data=False) for cfg in cfgs]
        beside_seconds = time.perf_counter() - start
    processes, each = share_threads(len(cfgs), threads)
    result = result_header("quick runs one after the other against side by side", device="cpu")
    result |= {
        "runs": len(cfgs),
        "threads": threads,
        "one_after_the_other": {
            "threads_a_run": threads,
            "seconds": round(alone_seconds, 1),
            "seconds_a_run": round(alone_seconds / len(cfgs), 1),
            "metrics": [metrics(t) for t in alone],
        },
        "side_by_side": {
            "processes": processes,
            "threads_a_run": each,
            "seconds": round(beside_seconds, 1),
            "seconds_a_run": round(beside_seconds / len(cfgs), 1),
            "metrics": [metrics(t) for t in beside],
        },
        "speed_up": round(alone_seconds / beside_seconds, 2),
    }
    write_result(result, args.out)
    print(
        f"{len(cfgs)} quick runs: {alone_seconds:.0f} s one after the other ({threads} threads), "
        f"{beside_seconds:.0f} s side by side ({processes} × {each}); wrote {args.out}"
    )


if __name__ == "__main__":
    main()
