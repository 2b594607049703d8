"""gpu_check, the result file: one record per part, rewritten after each, and a summary.

The summary's figures are copied or derived from the parts' records, so a file written after a
stop holds exactly what was measured; a part that did not run leaves its figures out.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from common import Deadline, judge_targets

MIN_PART_S = 10  # a part is not started with less of the budget left

TARGET_SPEEDUP = 2.0  # the fastest mode at least 2x fp32's training throughput on the same GPU
TARGET_EVALUATOR_S = 0.2  # the evaluator at MARS's test size on CUDA


def _measured(records: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: r[key] for name, r in records.items() if r.get(key) is not None}


def training_summary(part: dict[str, Any], compiled: dict[str, Any]) -> dict[str, Any]:
    """Clips/s, speed-ups and the loss after the same steps, per mode (memory: below)."""
    modes = {k: v for k, v in part.get("modes", {}).items() if "clips_per_s" in v}
    record = compiled.get("record", {})
    if "clips_per_s" in record:
        modes[f"{compiled['mode']}_compiled"] = record
    out: dict[str, Any] = {
        "clips_per_s": _measured(modes, "clips_per_s"),
        "frames_per_s": _measured(modes, "frames_per_s"),
        "achieved_tflops": _measured(modes, "achieved_tflops"),
    }
    if compiled:
        out["compile"] = {
            "mode": compiled.get("mode"),
            "first_step_s": record.get("first_step_s"),
            "cap_s": compiled.get("compile_cap_s"),
            "stopped": record.get("stopped") or compiled.get("stopped"),
        }
    fp32 = modes.get("fp32")
    if fp32 is None:
        return out
    last = f"step_{len(fp32['losses'])}"
    out["speedup_vs_fp32"] = {n: r["clips_per_s"] / fp32["clips_per_s"] for n, r in modes.items()}
    out["loss_after_steps"] = {
        n: r["loss_terms"].get(last, {}).get("total") for n, r in modes.items()
    }
    out["loss_after_steps_rel_diff_vs_fp32"] = {
        n: abs(loss - out["loss_after_steps"]["fp32"]) / out["loss_after_steps"]["fp32"]
        for n, loss in out["loss_after_steps"].items()
        if loss is not None
    }
    out["loss_after_steps_note"] = (
        f"total loss at {last}, every mode from the same weights on the same batches"
    )
    return out


def loader_summary(loader: dict[str, Any], modes: dict[str, Any]) -> dict[str, Any]:
    """Loader frames/s per worker count beside the model's, and whether the GPU would wait."""
    runs = {str(r["num_workers"]): r["frames_per_s"] for r in loader.get("runs", [])}
    model = _measured(modes, "frames_per_s")
    if not runs or not model:
        return {"loader_frames_per_s": runs, "model_frames_per_s": model}
    return {
        "loader_frames_per_s": runs,
        "model_frames_per_s": model,
        "device_waits_for_data": {
            f"{mode} with {w} workers": rate < model[mode]
            for mode in model
            for w, rate in runs.items()
        },
        "note": "measured apart; in training the workers and the main process share the CPU",
    }


def epochs_summary(part: dict[str, Any]) -> dict[str, Any]:
    """Per precision: the last epoch, the evaluation and the predictions."""
    out = {}
    for precision, run in part.get("precisions", {}).items():
        prediction = run.get("prediction", {})
        out[precision] = {
            "epoch_s": [e["train_seconds"] for e in run.get("epochs", [])],
            "evaluation_s": run.get("evaluation", {}).get("seconds"),
            "mars_120_epoch_run_h": prediction.get("mars_run_h"),
            "make_run_full_h": prediction.get("make_run_full_h"),
            "prediction_applies": prediction.get("applies"),
        }
    return out


def memory_summary(table: dict[str, Any], modes: dict[str, Any]) -> dict[str, Any]:
    """Table II's columns (the paper's and ours by its rule) beside what a step measured."""
    return {
        "table_ii_columns_mib": table.get("columns_mib"),
        "batch_saved_activations_mib": table.get("batch", {}).get("saved_activations_mib"),
        "step_peak_allocated_mib": _measured(modes, "peak_allocated_mib"),
        "step_extra_peak_mib": _measured(modes, "one_step_extra_peak_mib"),
        "note": "Table II counts one frame's activations (torchsummary's rule); the step figures "
        "are a whole B x T batch's training step: weights, Adam state and activations "
        "(peak allocated, CUDA) or what the step adds at its peak (extra)",
    }


def summarize(parts: dict[str, Any], *, device: torch.device, tiny: bool) -> dict[str, Any]:
    """The headline figures of the parts measured so far, and the GPU targets."""
    training = parts.get("training_modes", {})
    inference = parts.get("embedding_and_evaluator", {})
    evaluator = inference.get("evaluator", {})
    summary = {
        "training": training_summary(training, parts.get("compile", {})),
        "memory": memory_summary(parts.get("table_ii_memory", {}), training.get("modes", {})),
        "loader_vs_model": loader_summary(parts.get("loader", {}), training.get("modes", {})),
        "embedding_frames_per_s": _measured(inference.get("modes", {}), "frames_per_s"),
        "evaluator_median_s": evaluator.get("median_s"),
        "full_profile": epochs_summary(parts.get("full_profile_epochs", {})),
        "parts": {name: p.get("status") for name, p in parts.items()},
    }
    speedups = summary["training"].get("speedup_vs_fp32", {})
    summary["targets"] = judge_targets(
        {
            "speedup_fastest_vs_fp32": (
                max(speedups.values(), default=None),
                TARGET_SPEEDUP,
                "at_least",
            ),
            "evaluator_median_s": (evaluator.get("median_s"), TARGET_EVALUATOR_S, "at_most"),
        },
        device=device,
        full_size=not tiny,
    )
    return summary


class Report:
    """The JSON file: a header, one record per part, and a summary, rewritten atomically."""

    def __init__(self, path: Path, header: dict[str, Any], *, summary: Callable[..., dict]):
        self.path = path
        self.data: dict[str, Any] = {**header, "parts": {}, "summary": {}}
        self.summary = summary
        self.save()

    def save(self) -> None:
        """Writes the file whole: to a side file first, then renamed over the old one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".partial")
        tmp.write_text(json.dumps(self.data, indent=2, default=str) + "\n")
        tmp.replace(self.path)

    def run_part(
        self,
        name: str,
        work: Callable[[dict[str, Any], Deadline], None],
        *,
        cap: float,
        budget: Deadline,
    ) -> None:
        """Runs `work(record, deadline)` with at most `cap` seconds of `budget`; a failure is
        recorded, not raised, so the next part still runs. Not started with less than
        `MIN_PART_S` of the budget left."""
        rec: dict[str, Any] = {"cap_s": cap}
        self.data["parts"][name] = rec
        if budget.left() < MIN_PART_S:
            rec["status"] = f"skipped: {max(budget.left(), 0):.0f} s of the budget left"
            self.save()
            return
        print(f"== {name} (cap {cap:.0f} s, {budget.left():.0f} s of the budget left)")
        rec["status"] = "running"
        self.save()
        start = time.perf_counter()
        try:
            work(rec, budget.within(cap))
            rec["status"] = f"stopped: {rec['stopped']}" if "stopped" in rec else "done"
        except Exception as err:  # recorded; the remaining parts still run
            rec["status"] = f"failed: {type(err).__name__}: {err}"
            rec["traceback"] = traceback.format_exc()
            print(rec["traceback"], file=sys.stderr)
        except BaseException:
            rec["status"] = "interrupted"
            raise
        finally:
            rec["seconds"] = time.perf_counter() - start
            self.data["summary"] = self.summary(self.data["parts"])
            self.save()
