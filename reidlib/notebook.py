"""What every notebook's setup cell does: resolve its parameters, seed, pick the device and the
output folder, and build (or reuse) the runs its table needs.

```python
nb = start_notebook("04_clip_length", profile=PROFILE, dataset=DATASET, data_root=DATA_ROOT,
                    device=DEVICE, seed=SEED, out_dir=OUT_DIR)
t8 = nb.train("table3_t8")            # trained once, then read from runs/<dataset>-<digest>/
nb.write_metrics(runs=[...])          # figures/<profile>/04_clip_length/metrics.json
```
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from reidlib.config import RunConfig, load_profile
from reidlib.results import (
    device_name,
    figures_dir,
    paper_rows,
    paper_vs_ours,
    run_record,
    write_metrics,
    write_table,
)
from reidlib.seeding import resolve_device, seed_everything


@dataclass
class NotebookRun:
    """A notebook's resolved parameters. Made by `start_notebook`."""

    stem: str  # notebook file name without `.ipynb`, e.g. "04_clip_length"
    profile: str  # "quick" | "full"
    dataset: str  # "mars" | "prid2011" | "ilidsvid"
    repo: Path  # the repository the notebook lives in: relative paths are taken from here
    data_root: str  # "" = the profile's default root for each dataset
    weights_dir: Path  # the ImageNet files of the full profile (`reidlib.config.IMAGENET_FILES`)
    device: torch.device
    seed: int
    out_dir: Path  # figures/<profile>/<stem>/ unless the notebook was given another
    generator: torch.Generator
    progress: bool = True
    started: float = field(default_factory=time.time)

    @property
    def device_label(self) -> str:
        return device_name(self.device)

    def resolve(self, path: str | Path) -> Path:
        """`path` as given when absolute, else relative to the notebook's repository."""
        path = Path(path)
        return path if path.is_absolute() else self.repo / path

    def config(self, preset: str | None = None, *, dataset: str | None = None, **sections):
        """The run configuration of this notebook's profile for a table preset.

        Args:
            preset: a key of `reidlib.config.PRESETS` (a table row), or None for the base run.
            dataset: another dataset than the notebook's (Table V's chains).
            **sections: further overrides, e.g. `train={"init_checkpoint": "..."}`.
        """
        dataset = dataset or self.dataset
        cfg = load_profile(self.profile, dataset=dataset, preset=preset)
        root = self.data_root if self.data_root and dataset == self.dataset else cfg.data.root
        overrides: dict[str, dict[str, Any]] = {
            "train": {"seed": self.seed},
            "data": {"root": str(self.resolve(root))},
            "model": {"weights_dir": str(self.weights_dir)},
        }
        for section, values in sections.items():
            overrides.setdefault(section, {}).update(values)
        return cfg.with_overrides(**overrides)

    def train(self, preset: str | None = None, *, cfg: RunConfig | None = None, **kwargs):
        """Trains a preset (or `cfg`) into `runs/<dataset>-<digest>/` and returns the `Trainer`.

        A finished run of the same settings is read back instead of retrained, so notebooks
        share runs and a second `make run` trains nothing.
        """
        from reidlib.training.runner import train

        cfg = cfg if cfg is not None else self.config(preset, **kwargs)
        return train(cfg, runs_root=self.repo / "runs", device=self.device, progress=self.progress)

    def ablation(
        self,
        settings: Mapping[str, str | None],
        *,
        paper: Mapping[str, Mapping[str, Mapping[str, float | None]]],
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
        """Trains (or reads back) one run per table row on this notebook's dataset.

        Args:
            settings: the paper table's row name -> preset (`reidlib.config.PRESETS`).
            paper: the paper's table (`reidlib.paper.TABLE_*`), keyed by the same row names.

        Returns:
            `(runs, rows, trainers)`: a `run_record` per row, the `paper_vs_ours` rows, and the
            finished trainers by row name (for curves and further looks).
        """
        trainers = {label: self.train(preset) for label, preset in settings.items()}
        runs = [run_record(t, setting=label) for label, t in trainers.items()]
        return runs, paper_rows(paper, runs), trainers

    def write_metrics(self, *, runs: Iterable[Mapping[str, Any]], **extra: Any) -> dict:
        """`metrics.json` in `out_dir`: profile, device, seed, dataset, wall time, runs."""
        return write_metrics(
            self.out_dir,
            profile=self.profile,
            device=self.device,
            seed=self.seed,
            dataset=self.dataset,
            runs=runs,
            started=self.started,
            **extra,
        )

    def paper_vs_ours(self, rows: Iterable[Mapping[str, Any]], *, name: str = "table.csv"):
        """The closing table (setting, metric, paper, ours, profile, dataset, device), written
        to `out_dir/name` and returned for display."""
        table = paper_vs_ours(rows, profile=self.profile, device=self.device, dataset=self.dataset)
        return write_table(table, self.out_dir / name)

    def save_table(self, table: pd.DataFrame, name: str) -> pd.DataFrame:
        return write_table(table, self.out_dir / name)

    def path(self, name: str) -> Path:
        """A file in this notebook's output folder (for figures)."""
        return self.out_dir / name


def notebook_repo(start: Path | None = None) -> Path:
    """The repository a notebook runs in: the nearest folder at or above `start` (default the
    working directory, which Jupyter and papermill set to the notebook's folder) that holds
    `notebooks/` and `pyproject.toml`; else `start` itself. A notebook opened from another copy
    of the repository thus reads and writes that copy, whichever reidlib is installed."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "notebooks").is_dir() and (folder / "pyproject.toml").is_file():
            return folder
    return start


def start_notebook(
    stem: str,
    *,
    profile: str = "quick",
    dataset: str = "mars",
    data_root: str = "",
    weights_dir: str = "data/weights",
    device: str = "auto",
    seed: int = 0,
    out_dir: str = "",
    progress: bool = True,
) -> NotebookRun:
    """Seeds everything, resolves the device and creates the output folder.

    Args:
        stem: the notebook's file name without `.ipynb`.
        profile, dataset, data_root, weights_dir, device, seed, out_dir: the notebook's
            parameters cell (`""` means the default: the profile's data root,
            `figures/<profile>/<stem>/`); relative paths are taken from the notebook's
            repository (`notebook_repo`).
        progress: tqdm bars while training and evaluating.
    """
    if profile not in ("quick", "full"):
        raise ValueError(f"PROFILE must be 'quick' or 'full', got {profile!r}")
    generator = seed_everything(seed)
    repo = notebook_repo()
    run = NotebookRun(
        stem=stem,
        profile=profile,
        dataset=dataset,
        repo=repo,
        data_root=data_root,
        weights_dir=repo / weights_dir,
        device=resolve_device(device),
        seed=seed,
        out_dir=repo / out_dir if out_dir else figures_dir(repo, profile, stem),
        generator=generator,
        progress=progress,
    )
    run.out_dir.mkdir(parents=True, exist_ok=True)
    return run
