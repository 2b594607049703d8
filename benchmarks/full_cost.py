"""What a full reproduction costs: PROFILE=full's runs, FLOPs and predicted hours on one H100.

The runs each notebook trains under `PROFILE=full`, their optimiser steps, evaluations and
FLOPs, and the hours they would take on one H100 SXM (a prediction).

The runs and their FLOPs come from `cost_plan.py` (FlopCounterMode on the meta device; the real
datasets' sizes). Hours = FLOPs / (dense peak × utilisation), with the peak that applies to each
precision: bf16 autocast runs convolutions and matrix products on bf16 tensor cores; the full
profile's fp32 runs convolutions in TF32, because PyTorch lets cuDNN use TF32 by default
(`torch.backends.cudnn.allow_tf32`), and matrix products in true fp32
(`torch.backends.cuda.matmul.allow_tf32` is off by default); both flags are read from torch.
Convolutions are all but 0.01 % of the FLOPs, so fp32 means the TF32 peak. The utilisation is an
assumption (`UTILISATION`), and data loading is left out: these are predictions.
`benchmarks/gpu_check.py` replaces them by a measurement of the same runs' epochs and
evaluations, data loading included, on a GPU. Writes `benchmarks/results/full_cost.json` and
prints the README's table.

    PYTHONPATH=. venv/bin/python benchmarks/full_cost.py                     # DATASET=mars
    PYTHONPATH=. venv/bin/python benchmarks/full_cost.py --dataset prid2011  # 02-05, 08 on PRID2011
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from common import RESULTS_DIR, machine_info, write_results
from cost_plan import (
    DATASET_SIZES,
    EXTRA_EVALUATIONS,
    NO_FLOPS,
    CostModel,
    Flops,
    NotebookCost,
    RunCost,
    reproduction_plan,
)

from reidlib.config import DATASETS

RESULTS = RESULTS_DIR / "full_cost.json"

# Dense peaks of one H100 SXM, TFLOP/s (NVIDIA's datasheet; its sparse figures are twice these).
H100_SXM_PEAK_TFLOPS = {"bf16": 989.0, "tf32": 495.0, "fp32": 67.0}
# Share of the dense peak a run sustains, assumed. ResNet-50 training rarely exceeds about 40 %
# of the tensor peak even when tuned ("best case"); in eager PyTorch its batch norms and
# activations, bound by memory bandwidth, hold it nearer 15 % ("assumed").
UTILISATION = {"assumed": 0.15, "best case": 0.40}
PRECISIONS = {"fp32": "fp32 (TF32 convolutions)", "bf16": "bf16 autocast"}
NAMES = {"mars": "MARS", "prid2011": "PRID2011", "ilidsvid": "iLIDS-VID"}


def peaks(precision: str) -> dict[str, dict[str, str]]:
    """Which dense peak convolutions and matrix products run at in `precision`, and why."""
    if precision == "bf16":
        return {op: {"peak": "bf16", "why": "bf16 autocast"} for op in ("convolution", "matmul")}
    if precision != "fp32":
        raise ValueError(f"precision must be 'fp32' or 'bf16', got {precision!r}")
    conv_tf32 = torch.backends.cudnn.allow_tf32
    mm_tf32 = torch.backends.cuda.matmul.allow_tf32
    return {
        "convolution": {
            "peak": "tf32" if conv_tf32 else "fp32",
            "why": f"torch.backends.cudnn.allow_tf32 is {conv_tf32} (PyTorch's default: True)",
        },
        "matmul": {
            "peak": "tf32" if mm_tf32 else "fp32",
            "why": f"torch.backends.cuda.matmul.allow_tf32 is {mm_tf32} (PyTorch's default: False)",
        },
    }


def hours(flops: Flops, *, precision: str, utilisation: float) -> float:
    """Hours on one H100 SXM at `utilisation` of the dense peak that applies to each op kind."""
    units = peaks(precision)
    seconds = sum(
        n / (H100_SXM_PEAK_TFLOPS[units[op]["peak"]] * 1e12 * utilisation)
        for op, n in (("convolution", flops.convolution), ("matmul", flops.matmul))
    )
    return seconds / 3600


def all_hours(flops: Flops) -> dict[str, dict[str, float]]:
    """`hours` for every precision and utilisation."""
    return {
        p: {name: hours(flops, precision=p, utilisation=u) for name, u in UTILISATION.items()}
        for p in PRECISIONS
    }


def _hours_cell(flops: Flops, precision: str) -> str:
    assumed, best = all_hours(flops)[precision].values()
    return f"{assumed:.2f} ({best:.2f})"


def _runs_cell(nb: NotebookCost) -> str:
    runs = [f"{r.label} ({NAMES[r.dataset]})" for r in nb.trains]
    runs += [f"reads back {label}" for label in nb.reuses]
    runs += [f"evaluates {what}" for what in nb.extra_evaluations]
    return "; ".join(runs) or "nothing (one measured step per network)"


def markdown_table(plan: list[NotebookCost]) -> str:
    """The README table: one row per notebook, then the total."""
    head = ["notebook", "runs it trains (dataset)", "epochs", "optimiser steps", "evaluations"]
    head += ["PFLOP", *(f"H100 h, {label}" for label in PRECISIONS.values())]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    total = NO_FLOPS
    for nb in plan:
        flops = nb.flops()
        total += flops
        epochs = ", ".join(str(e) for e in sorted({r.epochs for r in nb.trains})) or "–"
        cells = [f"`{nb.notebook}`", _runs_cell(nb), epochs, f"{nb.steps:,}", str(nb.evaluations)]
        cells += [f"{flops.total / 1e15:.1f}", *(_hours_cell(flops, p) for p in PRECISIONS)]
        rows.append("| " + " | ".join(cells) + " |")
    runs = sum(len(nb.trains) for nb in plan)
    cells = ["**all**", f"{runs} runs", "", f"{sum(nb.steps for nb in plan):,}"]
    cells += [str(sum(nb.evaluations for nb in plan)), f"{total.total / 1e15:.1f}"]
    cells += [_hours_cell(total, p) for p in PRECISIONS]
    rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _run_json(run: RunCost) -> dict[str, Any]:
    return {
        "label": run.label,
        "dataset": run.dataset,
        "config_digest": run.digest,
        "epochs": run.epochs,
        "steps_per_epoch": run.steps_per_epoch,
        "steps": run.steps,
        "clips_per_step": run.clips_per_step,
        "clip_len": run.clip_len,
        "evaluations": run.evaluations,
        "test_clips_per_evaluation": run.test_clips,
        "train_step_flops": asdict(run.train_step_flops),
        "test_clip_flops": asdict(run.clip_flops),
        "train_flops": run.train_step_flops.times(run.steps).total,
        "evaluation_flops": run.evaluation_flops().times(run.evaluations).total,
        "flops": run.flops().total,
        "hours": all_hours(run.flops()),
    }


def _plan_total(plan: list[NotebookCost]) -> dict[str, Any]:
    flops = NO_FLOPS
    for nb in plan:
        flops += nb.flops()
    return {
        "runs": sum(len(nb.trains) for nb in plan),
        "steps": sum(nb.steps for nb in plan),
        "evaluations": sum(nb.evaluations for nb in plan),
        "flops": flops.total,
        "hours": all_hours(flops),
    }


def _total_line(what: str, total: dict[str, Any]) -> str:
    cells = ", ".join(
        f"{PRECISIONS[p]} {h['assumed']:.2f} ({h['best case']:.2f}) h"
        for p, h in total["hours"].items()
    )
    return f"{what}: {total['runs']} runs, {total['flops'] / 1e15:.1f} PFLOP, {cells}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mars", choices=DATASETS, help="notebooks' DATASET")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"default: {RESULTS}")
    args = parser.parse_args()
    model = CostModel()
    plan = reproduction_plan(args.dataset, model=model)
    table = markdown_table(plan)
    print(table)
    alone = {d: _plan_total(reproduction_plan(d, model=model)) for d in DATASETS}
    trained: dict[tuple[str, str], RunCost] = {}
    reproduction_plan(args.dataset, model=model, trained=trained)
    after = {  # what each other DATASET adds once this one's runs exist
        d: _plan_total(reproduction_plan(d, model=model, trained=dict(trained)))
        for d in DATASETS
        if d != args.dataset
    }
    for d, total in alone.items():
        print(_total_line(f"DATASET={d} alone", total))
    for d, total in after.items():
        print(_total_line(f"DATASET={d} after DATASET={args.dataset}", total))
    result = {
        "what": "a prediction, not a measurement: FLOPs counted with "
        "torch.utils.flop_counter.FlopCounterMode on the meta device (convolutions and matrix "
        "products only); hours = FLOPs / (dense peak x utilisation) on one H100 SXM; data "
        "loading left out. benchmarks/gpu_check.py measures epochs and evaluations on a GPU",
        "machine": machine_info(torch.device("cpu")),
        "profile": "full",
        "dataset": args.dataset,
        "peak_tflops_dense": H100_SXM_PEAK_TFLOPS,
        "utilisation": UTILISATION,
        "peaks_used": {p: peaks(p) for p in PRECISIONS},
        "dataset_sizes": {d: asdict(s) for d, s in DATASET_SIZES.items()},
        "extra_evaluations": EXTRA_EVALUATIONS,
        "notebooks": [
            {
                "notebook": nb.notebook,
                "trains": [_run_json(r) for r in nb.trains],
                "reads_back": nb.reuses,
                "extra_evaluations": list(nb.extra_evaluations),
                "steps": nb.steps,
                "evaluations": nb.evaluations,
                "flops": nb.flops().total,
                "hours": all_hours(nb.flops()),
            }
            for nb in plan
        ],
        "total": _plan_total(plan),
        "each_dataset_alone": alone,
        f"other_datasets_after_{args.dataset}": after,
        "readme_table": table,
    }
    write_results(result, args.out)


if __name__ == "__main__":
    main()
