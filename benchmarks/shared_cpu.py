"""Two quick runs sharing this CPU: does each get its share?

Times `reidlib train` of the quick profile (default synthetic MARS, 8 epochs, its pre-training
cached beforehand) alone, then two of them started together, each into its own folder, with
libgomp's default wait beside reidlib's:

- `default`: threads spin 300,000 times at a barrier before they sleep, what every torch process
  does when nothing is set (`GOMP_SPINCOUNT=300000` pins it here);
- `reidlib`: 3,000 spins, what reidlib's command line, notebooks and make set
  (`reidlib/threads.py`).

A fair share of the CPU lets two runs started together finish in twice one run's time; the
target is 2.5×. Writes `benchmarks/results/shared_cpu.json`.

    venv/bin/python benchmarks/shared_cpu.py              # about 14 minutes on 2 cores
    venv/bin/python benchmarks/shared_cpu.py --epochs 1   # a rehearsal
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from reidlib.benchmarking import result_header, write_result
from reidlib.threads import SPINS

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "shared_cpu.json"
POLICIES = {"default": {"GOMP_SPINCOUNT": "300000"}, "reidlib": {"GOMP_SPINCOUNT": SPINS}}
TARGET = 2.5  # each of two runs started together within this many times one run alone


def run_together(count: int, *, env: dict[str, str], epochs: int, folder: Path) -> list[float]:
    """Starts `count` quick runs at once; returns each one's wall time in seconds."""
    base = [sys.executable, "-m", "reidlib", "train", "--profile", "quick", "--device", "cpu"]
    base += ["--epochs", str(epochs), "--no-resume"]
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [*base, "--out", str(folder / f"run{i}")],
            env=env,
            cwd=REPO,  # the runs/ folder holding the cached pre-training
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for i in range(count)
    ]
    seconds = [0.0] * count
    pending = dict(enumerate(procs))
    while pending:
        for i, proc in list(pending.items()):
            if proc.poll() is not None:
                seconds[i] = time.perf_counter() - start
                if proc.returncode:
                    raise RuntimeError(f"run {i} failed: {proc.stderr.read().decode()[-2000:]}")
                del pending[i]
        time.sleep(0.05)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8, help="epochs a run (the quick profile: 8)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    clean = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    result = result_header("two quick runs sharing the CPU", device="cpu")
    result |= {"epochs": args.epochs, "target_ratio": TARGET, "policies": {}}
    with tempfile.TemporaryDirectory(prefix="reidlib-shared-cpu-") as tmp:
        folder = Path(tmp)
        # untimed: the synthetic data and the pre-training exist before the first timed run
        run_together(1, env=clean | POLICIES["reidlib"], epochs=1, folder=folder / "warm")
        for name, policy in POLICIES.items():
            env = clean | policy
            alone = run_together(1, env=env, epochs=args.epochs, folder=folder / name)[0]
            pair = run_together(2, env=env, epochs=args.epochs, folder=folder / f"{name}2")
            result["policies"][name] = {
                "env": policy,
                "alone_seconds": round(alone, 1),
                "together_seconds": [round(s, 1) for s in pair],
                "ratio": round(max(pair) / alone, 2),
                "within_target": max(pair) / alone <= TARGET,
            }
            print(name, result["policies"][name], flush=True)
    write_result(result, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
