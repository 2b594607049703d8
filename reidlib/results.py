"""What notebooks write under `figures/<profile>/<notebook-stem>/`, and read back.

`metrics.json` (profile, device, seed, dataset, wall time, per-run metrics), `table.csv` and
PNGs. The README and tests read these files; nothing else writes there.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from pandas.io.formats.style import Styler

from reidlib.claims import Verdict
from reidlib.evaluation import QueryOutcomes, format_interval
from reidlib.evaluation.protocol import TrackletEvaluation
from reidlib.records import RunResult, SettingSummary, TableRow, ci95, is_absolute


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
    threads = torch.get_num_threads()
    return f"CPU ({cpu}, {threads} thread{'s' * (threads != 1)})"


def write_metrics(
    out_dir: Path,
    *,
    profile: str,
    device: torch.device | str,
    seed: int,
    dataset: str,
    runs: Iterable[RunResult | Mapping[str, Any]],
    started: float,
    **extra: Any,
) -> dict[str, Any]:
    """Writes `metrics.json` and returns what it wrote. `started` is a `time.time()` stamp;
    records (`RunResult`, `SettingSummary`, `Verdict`) are written as their `to_json()`.

    Raises:
        ValueError: a value that is an absolute path (figures are committed: paths in them are
            relative to the repository, `NotebookRun.relative`).
    """
    record = {
        "profile": profile,
        "device": device_name(device),
        "seed": seed,
        "dataset": dataset,
        "wall_seconds": round(time.time() - started, 1),
        "torch": torch.__version__,
        "runs": list(runs),
        **extra,
    }
    record = json.loads(json.dumps(record, default=_as_json))
    path = out_dir / "metrics.json"
    _refuse_absolute_paths(_strings(record), path=path)
    path.write_text(json.dumps(record, indent=2) + "\n")
    return record


def _as_json(value: Any) -> Any:
    """`json.dumps`'s fallback: a record as its `to_json()`, anything else as its text."""
    to_json = getattr(value, "to_json", None)
    return to_json() if callable(to_json) else str(value)


def _strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _refuse_absolute_paths(values: Iterable[str], *, path: Path) -> None:
    absolute = [v for v in values if is_absolute(v)]
    if absolute:
        raise ValueError(
            f"{path}: {absolute[0]!r} is an absolute path; figures record paths relative to "
            "the repository (NotebookRun.relative)"
        )


def read_metrics(out_dir: Path) -> dict[str, Any]:
    return json.loads((Path(out_dir) / "metrics.json").read_text())


def write_table(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Writes a table as CSV and returns it (so a notebook cell can end with it).

    Raises:
        ValueError: a cell that is an absolute path, as `write_metrics`.
    """
    cells = [str(value) for value in table.to_numpy().ravel()]  # NaN too (pandas keeps it a float)
    _refuse_absolute_paths(cells, path=path)
    table.to_csv(path, index=False)
    return table


def evaluation_record(evaluation: TrackletEvaluation) -> dict[str, Any]:
    """An evaluation's metrics with their `ci95`, as `metrics.json` entries hold them (and
    `plot_metrics` draws them as baselines)."""
    return {**evaluation.metrics, "ci95": ci95([QueryOutcomes.from_result(evaluation.result)])}


def paper_vs_ours(
    rows: Iterable[TableRow], *, profile: str, device: torch.device | str, dataset: str
) -> pd.DataFrame:
    """One row per setting: the paper's value beside ours and its 95% interval, labelled with
    where ours came from.

    The table keeps numbers (`ours`, `ci95_low`, `ci95_high`), a `per seed` column (each
    training seed's value) where a row was trained over several seeds (`ours` is then their
    mean and the interval resamples seeds and queries), an `init` column where a row comes from
    a trained run, and each row's dataset (`dataset` where the row names none);
    `show_intervals` formats it for reading.
    """
    rows = list(rows)
    trained = ["init"] if any(r.init is not None for r in rows) else []
    seeded = ["per seed"] if any(r.seed_values for r in rows) else []
    table = pd.DataFrame(
        [
            {"setting": r.setting, "metric": r.metric, "paper": r.paper, "ours": r.ours}
            | ({"per seed": " / ".join(f"{v:.1f}" for v in r.seed_values)} if seeded else {})
            | ({"init": r.init} if trained else {})
            for r in rows
        ],
        columns=["setting", "metric", "paper", "ours", *seeded, *trained],
    )
    table["ours"] = table["ours"].astype(float).round(2)
    for i, side in enumerate(("ci95_low", "ci95_high")):
        table[side] = [None if r.ci95 is None else round(r.ci95[i], 2) for r in rows]
    table["profile"] = profile
    table["dataset"] = [r.dataset or dataset for r in rows]
    table["device"] = device_name(device)
    return table


def show_number(value: Any, *, decimals: int = 2) -> str:
    """A table cell for reading: "–" where there is no value, a number with up to `decimals`
    decimals (`decimals` significant digits where that would read 0), anything else as it
    reads."""
    if isinstance(value, bool | str | list | tuple | dict):
        return str(value)
    if value is None or pd.isna(value):
        return "–"
    if isinstance(value, int | float | np.number):
        if value != 0 and abs(value) < 0.5 * 10**-decimals:
            return f"{value:.{decimals}g}"
        return f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return str(value)


def show_table(
    table: pd.DataFrame, *, caption: str = "", index: bool = False, decimals: int = 2
) -> Styler:
    """`table` for reading: "–" for empty cells, numbers to `decimals` decimals without
    trailing zeros (`show_number`), the index only with `index=True`. Formats this table's
    display only; no pandas option changes."""
    shown = table.style.format(partial(show_number, decimals=decimals)).set_caption(caption)
    return shown if index else shown.hide(axis="index")


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
        [
            c
            for c in ("setting", "metric", "paper", column, "per seed", "init", "dataset")
            if c in shown
        ]
    ]
    caption = (
        f"{table['profile'].iloc[0]} profile · {table['device'].iloc[0]}" if len(table) else ""
    )
    return show_table(shown, caption=caption)


def show_verdicts(verdicts: Sequence[Verdict]) -> Styler:
    """Verdicts (`reidlib.claims.check_claims`) for reading: the claim, the paper's difference,
    ours with its 95% interval, the verdict."""
    shown = pd.DataFrame(
        [
            {
                "claim": v.claim,
                "datasets": " vs ".join(v.datasets),
                "metric": v.metric,
                "paper": "–" if v.paper is None else f"{v.paper:+.2f}",
                "ours [95% CI]": format_interval(v.ours, v.ci95, signed=True),
                "verdict": v.verdict,
            }
            for v in verdicts
        ]
    )
    return show_table(shown, caption="differences in points, setting − baseline")


def metric_rows(
    setting: str,
    record: RunResult | Mapping[str, Any],
    *,
    paper: Mapping[str, float | None] | None = None,
    metrics: Sequence[str] = ("rank1", "mAP"),
) -> list[TableRow]:
    """`paper_vs_ours` rows of one measured record (a `RunResult`, or a `metrics.json` entry
    such as `evaluation_record`'s): each metric with its 95% interval, the run's initialisation
    and dataset where it has them, and the paper's value from `paper` (a `reidlib.paper` cell;
    None where the paper is silent)."""
    entry = record.to_json() if isinstance(record, RunResult) else record
    intervals = entry.get("ci95", {})
    return [
        TableRow(
            setting=setting,
            metric=metric,
            paper=(paper or {}).get(metric),
            ours=entry[metric],
            ci95=tuple(intervals[metric]) if metric in intervals else None,
            init=entry.get("init"),
            dataset=entry.get("dataset"),
        )
        for metric in metrics
    ]


def listed_ids(ids: Sequence[int]) -> str:
    """`(0, 1, 2)` -> "0-2", `(0, 3)` -> "0, 3": splits or seeds as a label names them."""
    contiguous = tuple(ids) == tuple(range(ids[0], ids[-1] + 1))
    return f"{ids[0]}-{ids[-1]}" if contiguous and len(ids) > 1 else ", ".join(map(str, ids))


def paper_rows(
    paper: Mapping[str, Mapping[str, Mapping[str, float | None]]],
    summaries: Iterable[SettingSummary],
) -> list[TableRow]:
    """`paper_vs_ours` rows for settings that are rows of a paper table
    (`reidlib.paper.TABLE_*`): rank-1 for every dataset, mAP where the paper has the column."""
    rows = []
    for summary in summaries:
        cell = paper[summary.setting][summary.dataset]
        over = "".join(
            f", {name} {listed_ids(ids)}"
            for name, ids in (("splits", summary.splits), ("seeds", summary.seeds))
            if len(ids) > 1
        )
        over += ", mean" if over else ""
        several = len(summary.seeds) > 1
        rows += [
            TableRow(
                setting=f"{summary.setting} ({summary.dataset}{over})",
                metric=metric,
                paper=cell[metric],
                ours=summary.value(metric),
                ci95=summary.ci95[metric],
                seed_values=summary.seed_values[metric] if several else (),
                init=summary.init,
                dataset=summary.dataset,
            )
            for metric in ("rank1", "mAP")
            if metric in cell
        ]
    return rows
