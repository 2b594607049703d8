"""What every notebook's setup cell does: resolve its parameters, seed, pick the device and the
output folder, and build (or reuse) the runs its table needs.

```python
nb = start_notebook("04_clip_length", profile=PROFILE, dataset=DATASET, data_root=DATA_ROOT,
                    device=DEVICE, seed=SEED, out_dir=OUT_DIR)
t8 = nb.train("table3_t8")            # trained once, then read from runs/<dataset>-<digest>/
nb.write_metrics(runs=[...])          # figures/<profile>/04_clip_length/metrics.json
nb.finish()                           # an error naming any PNG saved there but never shown
```
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import torch
from matplotlib.figure import Figure

from reidlib.ablation import Ablation, PaperTable, train_chain, train_rows
from reidlib.claims import Verdict, check_claims
from reidlib.config import RunConfig, load_profile, parse_seeds, parse_splits, splits_for
from reidlib.evaluation import QueryOutcomes
from reidlib.plotting.page import FigureLog
from reidlib.progress import progress_bar
from reidlib.records import RunResult, TableRow, init_label, run_result
from reidlib.results import device_name, figures_dir, paper_vs_ours, write_metrics, write_table
from reidlib.seeding import resolve_device, seed_everything
from reidlib.training.build import RUNS_ROOT

if TYPE_CHECKING:
    from reidlib.training.trainer import Trainer


@dataclass
class NotebookRun:
    """A notebook's resolved parameters. Made by `start_notebook`."""

    stem: str  # notebook file name without `.ipynb`, e.g. "04_clip_length"
    profile: str  # "quick" | "full"
    dataset: str  # "mars" | "prid2011" | "ilidsvid"
    repo: Path  # the repository the notebook lives in: relative paths are taken from here
    data_root: str  # "" = the profile's default root for each dataset
    weights_dir: Path  # the ImageNet files of the full profile (`reidlib.config.IMAGENET_FILES`)
    splits: tuple[int, ...]  # PRID2011 / iLIDS-VID splits the runs use (MARS has one)
    device: torch.device
    seed: int  # the notebook's own random draws (clips shown), and its runs' seed by default
    seeds: tuple[int, ...]  # the training seeds: every row is trained once per seed
    out_dir: Path  # figures/<profile>/<stem>/ unless the notebook was given another
    generator: torch.Generator
    figures: FigureLog  # the PNGs this run saves under out_dir, and which reached the page
    progress: bool = True
    started: float = field(default_factory=time.time)
    # (dataset, root, split) whose every frame a run of this notebook has opened (`train`)
    checked: set[tuple[str, str, int]] = field(default_factory=set)

    @property
    def device_label(self) -> str:
        return device_name(self.device)

    @property
    def runs_root(self) -> Path:
        """Where this notebook's runs are cached: `runs/` of its repository."""
        return self.repo / RUNS_ROOT

    def resolve(self, path: str | Path) -> Path:
        """`path` as given when absolute, else relative to the notebook's repository."""
        path = Path(path)
        return path if path.is_absolute() else self.repo / path

    def relative(self, path: str | Path) -> str:
        """`path` relative to the notebook's repository (with `..` where it lies outside), as
        the committed figures record paths."""
        return Path(os.path.relpath(self.resolve(path).resolve(), self.repo.resolve())).as_posix()

    def recorded(self, cfg: RunConfig) -> RunConfig:
        """`cfg` as the figures record it: its paths relative to the repository."""
        paths = {
            "data": {"root": cfg.data.root},
            "model": {"weights_dir": cfg.model.weights_dir, "weights": cfg.model.weights},
            "train": {"init_checkpoint": cfg.train.init_checkpoint},
        }
        return cfg.with_overrides(
            **{
                section: {k: self.relative(v) for k, v in values.items() if v is not None}
                for section, values in paths.items()
            }
        )

    def record(self, trainer: Trainer, *, setting: str) -> RunResult:
        """What a finished run reports (`run_result`), its folder relative to the repository."""
        return run_result(trainer, setting=setting, profile=self.profile, repo=self.repo)

    def config(self, preset: str | None = None, *, dataset: str | None = None, **sections):
        """The run configuration of this notebook's profile for a table preset, trained from
        the first of the notebook's seeds unless `train={"seed": ...}` says otherwise.

        Args:
            preset: a key of `reidlib.config.PRESETS` (a table row), or None for the base run.
            dataset: another dataset than the notebook's (Table V's chains).
            **sections: further overrides, e.g. `train={"init_checkpoint": "..."}`.
        """
        dataset = dataset or self.dataset
        cfg = load_profile(self.profile, dataset=dataset, preset=preset)
        root = self.data_root if self.data_root and dataset == self.dataset else cfg.data.root
        overrides: dict[str, dict[str, Any]] = {
            "train": {"seed": self.seeds[0]},
            "data": {"root": str(self.resolve(root)), "split_id": self.splits_of(dataset)[0]},
            "model": {"weights_dir": str(self.weights_dir)},
        }
        for section, values in sections.items():
            overrides.setdefault(section, {}).update(values)
        return cfg.with_overrides(**overrides)

    def train(
        self,
        preset: str | None = None,
        *,
        cfg: RunConfig | None = None,
        progress: bool | None = None,
        **kwargs,
    ):
        """Trains a preset (or `cfg`) into `runs/<dataset>-<digest>/` and returns the `Trainer`.

        A finished run of the same settings is read back instead of retrained, so notebooks
        share runs and a second `make run` trains nothing. `progress` (default the notebook's)
        turns the run's own bars off where a caller shows one over many runs. Every frame of a
        dataset is opened before the notebook's first run on it (`check_dataset`), not again.
        """
        from reidlib.training import train

        cfg = cfg if cfg is not None else self.config(preset, **kwargs)
        shown = self.progress if progress is None else progress
        data = (cfg.data.dataset, cfg.data.root, cfg.data.split_id)
        trainer = train(
            cfg,
            runs_root=self.runs_root,
            device=self.device,
            progress=shown,
            check_data=data not in self.checked,
        )
        self.checked.add(data)
        return trainer

    def train_all(
        self, cfgs: Sequence[RunConfig], *, progress: bool | None = None
    ) -> list[Trainer]:
        """`train` of each configuration, in order. In the quick profile on a CPU, the runs not
        yet finished are first trained side by side, several processes sharing the threads
        (`reidlib.training.side_by_side`), then every run is read back here.

        Args:
            cfgs: the runs' configurations (`config`).
            progress: each run's own bars (default the notebook's); where they are off, one bar
                over the runs.
        """
        from reidlib.training.side_by_side import train_side_by_side

        each = self.progress if progress is None else progress
        if self.device.type == "cpu" and self.profile == "quick":
            train_side_by_side(cfgs, runs_root=self.runs_root, progress=self.progress)
        bar = progress_bar(cfgs, desc="runs", disable=each or not self.progress)
        return [self.train(cfg=cfg, progress=each) for cfg in bar]

    def splits_of(self, dataset: str) -> tuple[int, ...]:
        """The splits a dataset's runs use: this notebook's `SPLITS` for PRID2011 and
        iLIDS-VID, the one split of MARS (`splits_for`)."""
        return splits_for(dataset, self.splits)

    def ablation(
        self,
        settings: Mapping[str, str | None],
        *,
        paper: PaperTable,
        dataset: str | None = None,
        init_checkpoints: Mapping[int, Path] | None = None,
    ) -> Ablation:
        """One run per table row and split on a dataset (`reidlib.ablation.train_rows`)."""
        return train_rows(
            self, settings, paper=paper, dataset=dataset, init_checkpoints=init_checkpoints
        )

    def transfer(self, row: str, *, target: str) -> Ablation:
        """Table V's `row` on `target`, its chain trained in turn (`train_chain`)."""
        return train_chain(self, row, target=target)

    def write_metrics(
        self, *, runs: Iterable[RunResult | Mapping[str, Any]], **extra: Any
    ) -> dict[str, Any]:
        """`metrics.json` in `out_dir`: profile, device, seed, dataset, wall time, runs (records
        as their `to_json()`)."""
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

    def paper_vs_ours(self, rows: Iterable[TableRow], *, name: str = "table.csv") -> pd.DataFrame:
        """The closing table (setting, metric, paper, ours with the bounds of its 95% interval,
        init, profile, dataset, device), written to `out_dir/name`; `show_intervals` formats it
        for reading."""
        table = paper_vs_ours(rows, profile=self.profile, device=self.device, dataset=self.dataset)
        return write_table(table, self.out_dir / name)

    def verdicts(
        self, table: str, outcomes: Mapping[tuple[str, str], Sequence[QueryOutcomes]]
    ) -> list[Verdict]:
        """Judges the paper's claims of `table` on the measured runs (`reidlib.claims`), writes
        them to `verdicts.csv` and returns them (for `write_metrics(..., verdicts=...)` and
        `show_verdicts`).

        Args:
            table: `"I"`, `"III"`, `"IV"` or `"V"`.
            outcomes: `(row, dataset)` -> what each query scored in that row's runs, one per
                training seed (`Ablation.outcomes`).
        """
        return self.write_verdicts(check_claims(table, outcomes))

    def write_verdicts(self, verdicts: list[Verdict]) -> list[Verdict]:
        """Writes judged claims to `verdicts.csv` and returns them (notebook 09 judges its own,
        `reidlib.what_matters.judge_recipe_claims`)."""
        rows = [v.to_json() for v in verdicts]
        columns = [f.name for f in fields(Verdict) if f.name != "line"]
        write_table(pd.DataFrame(rows, columns=columns), self.out_dir / "verdicts.csv")
        return verdicts

    def title(self, cfg: RunConfig | None = None) -> str:
        """A figure title naming where the numbers come from: the run's profile and dataset
        (or just the profile) and initialisation, and the device."""
        name = cfg.name if cfg is not None else f"{self.profile} profile"
        return f"{name} · {init_label(cfg or self.config())} · {self.device_label}"

    def show(self, fig: Figure) -> None:
        """Displays `fig` mid-cell (a cell ending with a plotting call shows its figure without
        this) and records it as shown, for `finish`."""
        self.figures.show(fig)

    def finish(self) -> None:
        """Checks that every PNG this notebook saved under `out_dir` shows a figure that also
        reached its page, and stops watching its cells.

        Raises:
            RuntimeError: naming each PNG whose figure was saved but never shown.
        """
        self.figures.unwatch()
        unshown = self.figures.unshown()
        if unshown:
            raise RuntimeError(
                f"{', '.join(map(str, unshown))}: saved but never shown on the page (end a "
                "cell with the plotting call, or pass the figure to nb.show)"
            )

    def save_table(self, table: pd.DataFrame, name: str) -> pd.DataFrame:
        return write_table(table, self.out_dir / name)

    def path(self, name: str) -> Path:
        """A file in this notebook's output folder (for figures)."""
        return self.out_dir / name


def _ipython_shell() -> Any:
    """The IPython shell running this code (a Jupyter kernel's), or None outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


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
    splits: str | int = "0",
    device: str = "auto",
    seed: int = 0,
    seeds: str | int = "",
    out_dir: str = "",
    progress: bool = True,
) -> NotebookRun:
    """Seeds everything, resolves the device and creates the output folder; in a Jupyter
    kernel, figures show inline and the run watches which of them reach the page (`finish`).

    Args:
        stem: the notebook's file name without `.ipynb`.
        profile, dataset, data_root, weights_dir, splits, device, seed, seeds, out_dir: the
            notebook's parameters cell (`""` means the default: the profile's data root,
            `figures/<profile>/<stem>/`; `splits` as `parse_splits` reads it; `seeds`, the
            training seeds, as `parse_seeds`, e.g. "0-1", and `""` the one seed `seed`);
            relative paths are taken from the notebook's repository (`notebook_repo`).
        progress: tqdm bars while training and evaluating.
    """
    if profile not in ("quick", "full"):
        raise ValueError(f"PROFILE must be 'quick' or 'full', got {profile!r}")
    generator = seed_everything(seed)
    repo = notebook_repo()
    out = repo / out_dir if out_dir else figures_dir(repo, profile, stem)
    out.mkdir(parents=True, exist_ok=True)
    run = NotebookRun(
        stem=stem,
        profile=profile,
        dataset=dataset,
        repo=repo,
        data_root=data_root,
        weights_dir=repo / weights_dir,
        splits=parse_splits(str(splits)),  # papermill -p turns "0" into 0
        device=resolve_device(device),
        seed=seed,
        seeds=parse_seeds(str(seeds)) if str(seeds) else (seed,),  # papermill: "0" -> 0
        out_dir=out,
        generator=generator,
        figures=FigureLog(out),
        progress=progress,
    )
    shell = _ipython_shell()
    if shell is not None:  # in a kernel: figures render where a cell returns them, as PNG
        shell.run_line_magic("matplotlib", "inline")  # (bare `Figure`s too, without pyplot)
        run.figures.watch(shell)
    return run
