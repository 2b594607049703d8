"""What notebooks write under `figures/<profile>/<notebook-stem>/`, and read back.

`metrics.json` (profile, device, seed, dataset, wall time, per-run metrics), `table.csv` and
PNGs. The README and tests read these files; nothing else writes there.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from pandas.io.formats.style import Styler

from reidlib.config import RunConfig
from reidlib.evaluation import QueryOutcomes, bootstrap_ci, format_interval
from reidlib.evaluation.protocol import TrackletEvaluation


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


def ci95(outcomes: QueryOutcomes) -> dict[str, list[float]]:
    """95% bootstrap intervals over queries of rank-1 and mAP (`bootstrap_ci`, fixed seed),
    as `{"rank1": [lo, hi], "mAP": [lo, hi]}` in percent."""
    intervals = bootstrap_ci(outcomes, ranks=(1,))
    return {k: [round(intervals[k][0], 2), round(intervals[k][1], 2)] for k in ("rank1", "mAP")}


def evaluation_record(evaluation: TrackletEvaluation) -> dict[str, Any]:
    """An evaluation's metrics with their `ci95`, as `metrics.json` entries hold them."""
    return {**evaluation.metrics, "ci95": ci95(QueryOutcomes.from_result(evaluation.result))}


def paper_vs_ours(
    rows: Iterable[Mapping[str, Any]], *, profile: str, device: torch.device | str, dataset: str
) -> pd.DataFrame:
    """One row per setting: the paper's value beside ours and its 95% interval, labelled with
    where ours came from.

    Each input row needs `setting`, `metric`, `paper` (None where the paper is silent) and
    `ours`; rows measured on queries carry `ci95` (`[lo, hi]`), rows of a trained run `init`
    (how it started, `init_label`), rows of another dataset than `dataset` their `dataset`.
    The table keeps numbers (`ours`, `ci95_low`, `ci95_high`); `show_intervals` formats it for
    reading.
    """
    rows = list(rows)
    trained = ["init"] if any("init" in r for r in rows) else []
    table = pd.DataFrame(rows, columns=["setting", "metric", "paper", "ours", *trained])
    table["ours"] = table["ours"].astype(float).round(2)
    for i, side in enumerate(("ci95_low", "ci95_high")):
        table[side] = [round(r["ci95"][i], 2) if r.get("ci95") else None for r in rows]
    table["profile"] = profile
    table["dataset"] = [r.get("dataset", dataset) for r in rows]
    table["device"] = device_name(device)
    return table


def show_number(value: Any) -> str:
    """A table cell for reading: "–" where there is no value, a number with up to two
    decimals, anything else as it reads."""
    if isinstance(value, bool | str | list | tuple | dict):
        return str(value)
    if value is None or pd.isna(value):
        return "–"
    if isinstance(value, int | float | np.number):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def show_table(table: pd.DataFrame, *, caption: str = "") -> Styler:
    """`table` for reading: no index, "–" for empty cells, numbers without trailing zeros."""
    return table.style.hide(axis="index").format(show_number).set_caption(caption)


def show_intervals(table: pd.DataFrame) -> Styler:
    """A `paper_vs_ours` table for reading: ours as `value [lo, hi]` (its 95% interval) where
    it has one, "–" where the paper is silent, the profile and device in the caption."""
    has_interval = table["ci95_low"].notna()
    column = "ours [95% CI]" if has_interval.any() else "ours"
    shown = table.drop(columns=["ci95_low", "ci95_high", "profile", "device"])
    shown[column] = [
        format_interval(v, (lo, hi)) if pd.notna(lo) else show_number(v)
        for v, lo, hi in zip(table["ours"], table["ci95_low"], table["ci95_high"])
    ]
    if column != "ours":
        shown = shown.drop(columns=["ours"])
    shown = shown[
        [c for c in ("setting", "metric", "paper", column, "init", "dataset") if c in shown]
    ]
    caption = (
        f"{table['profile'].iloc[0]} profile · {table['device'].iloc[0]}" if len(table) else ""
    )
    return show_table(shown, caption=caption)


def show_verdicts(records: Sequence[Mapping[str, Any]]) -> Styler:
    """Verdicts (`reidlib.claims.check_claims`) for reading: the claim, the paper's difference,
    ours with its 95% interval, the verdict."""
    shown = pd.DataFrame(
        [
            {
                "claim": r["claim"],
                "datasets": " vs ".join(r["datasets"]),
                "metric": r["metric"],
                "paper": f"{r['paper']:+.2f}",
                "ours [95% CI]": format_interval(r["ours"], r["ci95"], signed=True),
                "verdict": r["verdict"],
            }
            for r in records
        ]
    )
    return show_table(shown, caption="differences in points, setting − baseline")


def last_evaluation(trainer: Any) -> dict[str, Any]:
    """The epoch log record of a finished run's last evaluation."""
    evaluated = [r for r in trainer.history if "rank1" in r]
    if not evaluated:
        raise ValueError(f"{trainer.out_dir}: the run has no evaluation yet")
    return evaluated[-1]


def run_outcomes(trainer: Any) -> QueryOutcomes:
    """What each query scored at a finished run's last evaluation."""
    return QueryOutcomes.from_json(last_evaluation(trainer)["queries"])


INIT_LABELS: dict[str, str] = {
    "imagenet": "ImageNet init",
    "synthetic": "synthetic pre-training",
    "random": "random init",
}


def init_label(cfg: RunConfig) -> str:
    """How a run's weights started: "ImageNet init", "synthetic pre-training" (the quick
    profile's stand-in for ImageNet), "random init" or "transfer"."""
    if cfg.train.init_checkpoint is not None:
        return "transfer"
    return INIT_LABELS[cfg.model.init]


def run_record(trainer: Any, *, setting: str) -> dict[str, Any]:
    """One table row's measured values from a finished run: its last evaluation (rank-k, mAP,
    chance rank-1, valid queries) with the 95% intervals of rank-1 and mAP, epochs, the split,
    how it was initialised, training seconds and where the run lives."""
    last = last_evaluation(trainer)
    metrics = ("rank1", "rank5", "rank10", "rank20", "mAP", "chance_rank1", "num_valid_queries")
    return {
        "setting": setting,
        "dataset": trainer.cfg.data.dataset,
        "split": trainer.cfg.data.split_id,
        "epochs": last["epoch"],
        "init": init_label(trainer.cfg),
        **{k: last[k] for k in metrics if k in last},
        "ci95": ci95(run_outcomes(trainer)),
        "train_seconds": round(sum(r["train_seconds"] for r in trainer.history), 1),
        "run_dir": str(trainer.out_dir),
    }


def metric_rows(
    setting: str,
    record: Mapping[str, Any],
    *,
    paper: Mapping[str, float | None] | None = None,
    metrics: Sequence[str] = ("rank1", "mAP"),
) -> list[dict[str, Any]]:
    """`paper_vs_ours` rows of one measured record (`run_record`, `evaluation_record`): each
    metric with its 95% interval, the run's initialisation and dataset where it has them, and
    the paper's value from `paper` (a `reidlib.paper` cell; None where the paper is silent)."""
    extra = {k: record[k] for k in ("init", "dataset") if k in record}
    return [
        {
            "setting": setting,
            "metric": metric,
            "paper": (paper or {}).get(metric),
            "ours": record[metric],
            "ci95": record.get("ci95", {}).get(metric),
            **extra,
        }
        for metric in metrics
    ]


def pool_splits(
    records: Sequence[Mapping[str, Any]], outcomes: Sequence[QueryOutcomes]
) -> dict[str, Any]:
    """One setting's runs over several splits (PRID2011, iLIDS-VID), as the literature reports
    them: rank-k and mAP as the mean over the splits with their standard deviation, the 95%
    interval from the queries of every split together, and the splits.

    Args:
        records: `run_record`s of one setting and dataset, one per split.
        outcomes: what each query scored in each of those runs, in the same order.
    """
    first = records[0]
    summary: dict[str, Any] = {
        "setting": first["setting"],
        "dataset": first["dataset"],
        "splits": [r["split"] for r in records],
        "epochs": first["epochs"],
        "init": first["init"],
    }
    for key in ("rank1", "rank5", "rank10", "rank20", "mAP"):
        values = np.array([r[key] for r in records])
        summary[key] = float(values.mean())
        summary[f"{key}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    summary["ci95"] = ci95(pool_outcomes(outcomes))
    return summary


def pool_outcomes(outcomes: Sequence[QueryOutcomes]) -> QueryOutcomes:
    """The queries of several splits as one sample; two settings pooled in the same split order
    stay paired query by query."""
    return QueryOutcomes(
        np.concatenate([o.first_match_rank for o in outcomes]),
        np.concatenate([o.average_precision for o in outcomes]),
    )


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
                splits = run.get("splits", [run.get("split", 0)])
                over = f", splits {splits[0]}-{splits[-1]}, mean" if len(splits) > 1 else ""
                rows.append(
                    {
                        "dataset": run["dataset"],
                        "setting": f"{run['setting']} ({run['dataset']}{over})",
                        "metric": metric,
                        "paper": cell[metric],
                        "ours": run[metric],
                        "ci95": run["ci95"][metric],
                        "init": run["init"],
                    }
                )
    return rows
