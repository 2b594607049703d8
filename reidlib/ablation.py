"""A table's rows trained on one dataset, one run per row, split and training seed, and Table V's
chains of runs: what notebooks 03-06 and 09 call through `NotebookRun.ablation` and
`NotebookRun.transfer`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reidlib import paper as paper_tables
from reidlib.config import has_splits, table5_chain
from reidlib.evaluation import QueryOutcomes
from reidlib.records import (
    RunResult,
    SettingSummary,
    TableRow,
    pool_outcomes,
    run_outcomes,
    summarize,
)
from reidlib.results import paper_rows

if TYPE_CHECKING:
    from reidlib.notebook import NotebookRun
    from reidlib.training.trainer import Trainer

MANY_RUNS = 4  # more runs than this in one cell show one bar over the runs
PaperTable = Mapping[str, Mapping[str, Mapping[str, float | None]]]  # `reidlib.paper.TABLE_*`


@dataclass(frozen=True, kw_only=True)
class Ablation:
    """The runs of a paper table's rows on one dataset (`train_rows`)."""

    runs: list[RunResult]  # one per row, split and seed
    summaries: list[SettingSummary]  # per row: means, each seed's, the seed-and-query interval
    rows: list[TableRow]  # `paper_vs_ours` rows of the summaries
    trainers: dict[tuple[str, int, int], Trainer]  # (row, split, seed) -> the finished run
    # (row, dataset) -> per seed, what the queries of all its splits scored
    outcomes: dict[tuple[str, str], tuple[QueryOutcomes, ...]]

    @property
    def histories(self) -> dict[str, list[dict[str, Any]]]:
        """Row -> the epoch log of its first split's and seed's run (for training curves)."""
        histories: dict[str, list[dict[str, Any]]] = {}
        for (label, _, _), trainer in self.trainers.items():
            histories.setdefault(label, trainer.history)
        return histories


def train_rows(
    nb: NotebookRun,
    settings: Mapping[str, str | None],
    *,
    paper: PaperTable,
    dataset: str | None = None,
    init_checkpoints: Mapping[int, Path] | None = None,
) -> Ablation:
    """Trains (or reads back) one run per table row, split and training seed on a dataset.

    Args:
        nb: the notebook (profile, splits, seeds, device; `NotebookRun.train`).
        settings: the paper table's row name -> preset (`reidlib.config.PRESETS`; None: the
            base run).
        paper: the paper's table (`reidlib.paper.TABLE_*`), keyed by the same row names.
        dataset: another dataset than the notebook's (Table V's targets).
        init_checkpoints: split -> the checkpoint each split's runs start from (`train_chain`).
    """
    dataset = dataset or nb.dataset
    splits = nb.splits_of(dataset)
    keys = [(label, split, seed) for label in settings for seed in nb.seeds for split in splits]
    cfgs = [
        nb.config(
            settings[label],
            dataset=dataset,
            data={"split_id": split},
            train={"seed": seed, **_started_from(init_checkpoints, split)},
        )
        for label, split, seed in keys
    ]
    # many runs: one bar over them, not three bars a run (a notebook client reading the output
    # once the cell ends loses messages past the socket's high-water mark, reidlib.progress)
    many = len(keys) > MANY_RUNS
    trainers = dict(zip(keys, nb.train_all(cfgs, progress=nb.progress and not many), strict=True))
    runs = {key: nb.record(t, setting=key[0]) for key, t in trainers.items()}
    summaries, outcomes = [], {}
    for label in settings:
        keys = [(label, split, seed) for seed in nb.seeds for split in splits]
        summaries.append(
            summarize([runs[k] for k in keys], [run_outcomes(trainers[k]) for k in keys])
        )
        outcomes[label, dataset] = tuple(
            pool_outcomes([run_outcomes(trainers[label, split, seed]) for split in splits])
            for seed in nb.seeds
        )
    return Ablation(
        runs=list(runs.values()),
        summaries=summaries,
        rows=paper_rows(paper, summaries),
        trainers=trainers,
        outcomes=outcomes,
    )


def train_chain(nb: NotebookRun, row: str, *, target: str) -> Ablation:
    """Table V's `row` on `target`: every dataset of its chain (`table5_chain`) trained (or read
    back) in turn on each split, each run starting from the last checkpoint of the previous
    dataset's run of the same split (MARS's one run starts every split); the target's runs as
    `train_rows` gives them.

    Args:
        nb: the notebook.
        row: `"ImageNet"`, `"MARS"` or `"MARS + iLIDS-VID"` (`reidlib.config.TABLE5_SOURCES`).
        target: the dataset whose column it fills, e.g. `"prid2011"`.
    """
    from reidlib.training.trainer import LAST

    chain = table5_chain(row, target)
    starts: dict[int, Path] | None = None  # split -> checkpoint; None: as the profile starts
    for dataset, following in pairwise(chain):
        splits = nb.splits_of(dataset)
        cfgs = [
            nb.config(dataset=dataset, data={"split_id": s}, train=_started_from(starts, s))
            for s in splits
        ]  # the chain's sources train at the notebook's first seed; the target at each seed
        trained = dict(zip(splits, nb.train_all(cfgs), strict=True))
        starts = {
            split: trained[split if has_splits(dataset) else 0].out_dir / LAST
            for split in nb.splits_of(following)
        }
    return train_rows(
        nb, {row: None}, paper=paper_tables.TABLE_V, dataset=target, init_checkpoints=starts
    )


def _started_from(starts: Mapping[int, Path] | None, split: int) -> dict[str, str]:
    """`train` overrides starting a split's run from `starts[split]` (None: as the profile
    starts, from ImageNet or its stand-in)."""
    return {} if starts is None else {"init_checkpoint": str(starts[split])}
