"""What a full reproduction costs: PROFILE=full's runs, FLOPs and predicted hours on one H100.

A prediction, not a measurement. The runs each notebook trains under `PROFILE=full`, their
optimiser steps, evaluations and FLOPs come from `reidlib.cost_plan` (FlopCounterMode on the
meta device; the real datasets' sizes). Hours = FLOPs / (dense peak × utilisation), at the peak
each precision runs at: bf16 autocast runs convolutions and matrix products on bf16 tensor
cores; the full profile's fp32 runs convolutions in TF32, because PyTorch lets cuDNN use TF32 by
default (`torch.backends.cudnn.allow_tf32`), and matrix products in fp32
(`torch.backends.cuda.matmul.allow_tf32` is off by default); both switches are read from torch.
The utilisation is assumed (`UTILISATION`) and data loading is left out; `gpu_check.py`
measures the same runs' epochs and evaluations on a GPU. Writes
`benchmarks/results/full_cost.json` and prints the README's table.

    PYTHONPATH=. venv/bin/python benchmarks/full_cost.py                     # DATASET=mars
    PYTHONPATH=. venv/bin/python benchmarks/full_cost.py --dataset prid2011  # 02-05, 08 on PRID2011
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from reidlib.benchmarking import result_header, write_result
from reidlib.config import DATASETS
from reidlib.cost_plan import (
    DATASET_SIZES,
    EXTRA_EVALUATIONS,
    NO_FLOPS,
    Flops,
    NotebookCost,
    RunCost,
    reproduction_plan,
)

RESULTS = Path(__file__).resolve().parent / "results" / "full_cost.json"
# Dense peaks of one H100 SXM, TFLOP/s (NVIDIA's datasheet; its sparse figures are twice these).
H100_SXM_PEAK_TFLOPS = {"bf16": 989.0, "tf32": 495.0, "fp32": 67.0}
# Share of the dense peak a run sustains, assumed: tuned ResNet-50 training rarely exceeds about
# 40 % ("best case"); in eager PyTorch batch norms and activations, bound by memory bandwidth,
# hold it nearer 15 % ("assumed").
UTILISATION = {"assumed": 0.15, "best case": 0.40}
PRECISIONS = {"fp32": "fp32 (TF32 convolutions)", "bf16": "bf16 autocast"}
NAMES = {"mars": "MARS", "prid2011": "PRID2011", "ilidsvid": "iLIDS-VID"}
WHAT = "a prediction, not a measurement: FLOPs counted on the meta device (convolutions and "
WHAT += "matrix products); hours = FLOPs / (dense peak x utilisation) on one H100 SXM"


def peaks(precision: str) -> dict[str, str]:
    """The dense peak convolutions and matrix products run at in `precision`."""
    if precision == "bf16":
        return {"convolution": "bf16", "matmul": "bf16"}
    return {
        "convolution": "tf32" if torch.backends.cudnn.allow_tf32 else "fp32",
        "matmul": "tf32" if torch.backends.cuda.matmul.allow_tf32 else "fp32",
    }


def all_hours(flops: Flops) -> dict[str, dict[str, float]]:
    """Hours on one H100 SXM per precision and utilisation."""
    out = {}
    for precision in PRECISIONS:
        units = peaks(precision)
        out[precision] = {
            name: sum(
                n / (H100_SXM_PEAK_TFLOPS[units[op]] * 1e12 * u)
                for op, n in (("convolution", flops.convolution), ("matmul", flops.matmul))
            )
            / 3600
            for name, u in UTILISATION.items()
        }
    return out


def total_flops(plan: list[NotebookCost]) -> Flops:
    total = NO_FLOPS
    for nb in plan:
        total += nb.flops()
    return total


def markdown_table(plan: list[NotebookCost]) -> str:
    """The README's table: one row per notebook, then the total."""

    def hours(flops: Flops) -> list[str]:
        return [f"{h['assumed']:.2f} ({h['best case']:.2f})" for h in all_hours(flops).values()]

    head = ["notebook", "runs it trains (dataset)", "epochs", "optimiser steps", "evaluations"]
    head += ["PFLOP", *(f"H100 h, {label}" for label in PRECISIONS.values())]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for nb in plan:
        runs = [f"{r.label} ({NAMES[r.dataset]})" for r in nb.trains]
        runs += [f"reads back {label}" for label in nb.reuses]
        runs += [f"evaluates {what}" for what in nb.extra_evaluations]
        epochs = ", ".join(str(e) for e in sorted({r.epochs for r in nb.trains})) or "–"
        cells = [f"`{nb.notebook}`", "; ".join(runs) or "nothing (one measured step per network)"]
        cells += [epochs, f"{nb.steps:,}", str(nb.evaluations), f"{nb.flops().total / 1e15:.1f}"]
        rows.append("| " + " | ".join(cells + hours(nb.flops())) + " |")
    total = total_flops(plan)
    cells = ["**all**", f"{sum(len(nb.trains) for nb in plan)} runs", ""]
    cells += [f"{sum(nb.steps for nb in plan):,}", str(sum(nb.evaluations for nb in plan))]
    rows.append("| " + " | ".join([*cells, f"{total.total / 1e15:.1f}", *hours(total)]) + " |")
    return "\n".join(rows)


def run_json(run: RunCost) -> dict[str, Any]:
    """The run's counts (`test_clips` per evaluation, `clip_flops` per test clip) and totals."""
    return asdict(run) | {
        "steps": run.steps,
        "train_flops": run.train_step_flops.times(run.steps).total,
        "evaluation_flops": run.evaluation_flops().times(run.evaluations).total,
        "flops": run.flops().total,
        "hours": all_hours(run.flops()),
    }


def plan_total(plan: list[NotebookCost]) -> dict[str, Any]:
    return {
        "runs": sum(len(nb.trains) for nb in plan),
        "steps": sum(nb.steps for nb in plan),
        "evaluations": sum(nb.evaluations for nb in plan),
        "flops": total_flops(plan).total,
        "hours": all_hours(total_flops(plan)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mars", choices=DATASETS, help="notebooks' DATASET")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"default: {RESULTS}")
    args = parser.parse_args()
    trained: dict[tuple[str, str], RunCost] = {}
    plan = reproduction_plan(args.dataset, trained=trained)
    table = markdown_table(plan)
    print(table)
    alone = {d: plan_total(reproduction_plan(d)) for d in DATASETS}
    after = {  # what each other DATASET adds once this one's runs exist
        d: plan_total(reproduction_plan(d, trained=dict(trained)))
        for d in DATASETS
        if d != args.dataset
    }
    for what, total in [
        *((f"DATASET={d} alone", t) for d, t in alone.items()),
        *((f"DATASET={d} after DATASET={args.dataset}", t) for d, t in after.items()),
    ]:
        hours = ", ".join(
            f"{PRECISIONS[p]} {h['assumed']:.2f} ({h['best case']:.2f}) h"
            for p, h in total["hours"].items()
        )
        print(f"{what}: {total['runs']} runs, {total['flops'] / 1e15:.1f} PFLOP, {hours}")
    result = {
        **result_header(WHAT, device="cpu"),
        "profile": "full",
        "dataset": args.dataset,
        "peak_tflops_dense": H100_SXM_PEAK_TFLOPS,
        "utilisation": UTILISATION,
        "peaks_used": {p: peaks(p) for p in PRECISIONS},
        "dataset_sizes": {d: asdict(s) for d, s in DATASET_SIZES.items()},
        "extra_evaluations": EXTRA_EVALUATIONS,
        "notebooks": [
            {"notebook": nb.notebook, "trains": [run_json(r) for r in nb.trains]}
            | {"reads_back": nb.reuses, "extra_evaluations": list(nb.extra_evaluations)}
            | plan_total([nb])
            for nb in plan
        ],
        "total": plan_total(plan),
        "each_dataset_alone": alone,
        f"other_datasets_after_{args.dataset}": after,
        "readme_table": table,
    }
    print(f"written to {write_result(result, args.out)}")


if __name__ == "__main__":
    main()
