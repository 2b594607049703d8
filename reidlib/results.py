"""What notebooks write under `figures/<profile>/<notebook-stem>/`, and read back.

`metrics.json` (profile, device, seed, dataset, wall time, per-run metrics), `table.csv` and
PNGs. The README and tests read these files; nothing else writes there.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from reidlib.config import RunConfig


def figures_dir(repo: Path, profile: str, notebook: str) -> Path:
    """`<repo>/figures/<profile>/<notebook-stem>/`, created."""
    out = repo / "figures" / profile / notebook
    out.mkdir(parents=True, exist_ok=True)
    return out


def device_name(device: torch.device | str) -> str:
    """A readable device label for tables: the GPU model or the CPU model."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"CPU ({cpu}, {torch.get_num_threads()} threads)"


def write_metrics(
    out_dir: Path,
    *,
    profile: str,
    device: torch.device | str,
    seed: int,
    dataset: str,
    runs: Iterable[Mapping[str, Any]],
    started: float,
    **extra: Any,
) -> dict[str, Any]:
    """Writes `metrics.json` and returns what it wrote. `started` is a `time.time()` stamp."""
    record = {
        "profile": profile,
        "device": device_name(device),
        "seed": seed,
        "dataset": dataset,
        "wall_seconds": round(time.time() - started, 1),
        "torch": torch.__version__,
        "runs": [dict(r) for r in runs],
        **extra,
    }
    (out_dir / "metrics.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    return record


def read_metrics(out_dir: Path) -> dict[str, Any]:
    return json.loads((Path(out_dir) / "metrics.json").read_text())


def write_table(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Writes a table as CSV and returns it (so a notebook cell can end with it)."""
    table.to_csv(path, index=False)
    return table


def paper_vs_ours(
    rows: Iterable[Mapping[str, Any]], *, profile: str, device: torch.device | str, dataset: str
) -> pd.DataFrame:
    """One row per setting: the paper's value beside ours, labelled with where ours came from.

    Each input row needs `setting`, `metric`, `paper` (None where the paper is silent) and
    `ours`; rows measured on a trained run also carry `init` (how it started, `init_label`).
    """
    rows = list(rows)
    trained = ["init"] if any("init" in r for r in rows) else []
    table = pd.DataFrame(rows, columns=["setting", "metric", "paper", "ours", *trained])
    table["ours"] = table["ours"].astype(float).round(2)
    table["profile"] = profile
    table["dataset"] = dataset
    table["device"] = device_name(device)
    return table


def init_label(cfg: RunConfig) -> str:
    """How a run's weights started: "ImageNet init", "random init" or "transfer"."""
    if cfg.train.init_checkpoint is not None:
        return "transfer"
    return "ImageNet init" if cfg.model.init == "imagenet" else "random init"


def run_record(trainer: Any, *, setting: str) -> dict[str, Any]:
    """One table row's measured values from a finished run: its last evaluation (rank-k, mAP,
    chance rank-1, valid queries), epochs, how it was initialised, training seconds and where
    the run lives."""
    evaluated = [r for r in trainer.history if "rank1" in r]
    if not evaluated:
        raise ValueError(f"{trainer.out_dir}: the run has no evaluation yet")
    last = evaluated[-1]
    metrics = ("rank1", "rank5", "rank10", "rank20", "mAP", "chance_rank1", "num_valid_queries")
    return {
        "setting": setting,
        "dataset": trainer.cfg.data.dataset,
        "epochs": last["epoch"],
        "init": init_label(trainer.cfg),
        **{k: last[k] for k in metrics if k in last},
        "train_seconds": round(sum(r["train_seconds"] for r in trainer.history), 1),
        "run_dir": str(trainer.out_dir),
    }


def paper_rows(
    paper: Mapping[str, Mapping[str, Mapping[str, float | None]]],
    runs: Iterable[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """`paper_vs_ours` rows for runs whose `setting` is a row of a paper table
    (`reidlib.paper.TABLE_*`): rank-1 for every dataset, mAP where the paper has the column."""
    rows = []
    for run in runs:
        cell = paper[run["setting"]][run["dataset"]]
        for metric in ("rank1", "mAP"):
            if metric in cell:
                rows.append(
                    {
                        "setting": f"{run['setting']} ({run['dataset']})",
                        "metric": metric,
                        "paper": cell[metric],
                        "ours": run[metric],
                        "init": run["init"],
                    }
                )
    return rows
