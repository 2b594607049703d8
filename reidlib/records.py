"""What finished runs report, as records: one run (`RunResult`, built by `run_result`), one
setting over several splits and training seeds (`SettingSummary`, `summarize`), one row of a paper-vs-ours table
(`TableRow`). Each record writes itself as a `metrics.json` entry with `to_json()`."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any

import numpy as np

from reidlib.config import RunConfig
from reidlib.evaluation import QueryOutcomes, seed_query_ci
from reidlib.evaluation.uncertainty import Interval

if TYPE_CHECKING:
    from reidlib.training.trainer import Trainer

METRICS = ("rank1", "rank5", "rank10", "rank20", "mAP")  # what an evaluation reports, percent


def is_absolute(path: str) -> bool:
    """Whether `path` is absolute on POSIX or Windows (`/x`, `C:\\x`) or starts at a home (`~`)."""
    return (
        PurePosixPath(path).is_absolute()
        or PureWindowsPath(path).is_absolute()
        or path.startswith("~")
    )


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """What a finished run reports at its last evaluation: one entry of `metrics.json`'s runs.

    `to_json()` keeps the keys the README and tests read: setting, dataset, split, epochs, init,
    the metrics, chance_rank1, num_valid_queries, ci95, train_seconds, run_dir.
    """

    setting: str  # the paper table's row (e.g. "T=4"), or a label ("base", "MARS source")
    dataset: str  # "mars" | "prid2011" | "ilidsvid"
    split: int  # the PRID2011 / iLIDS-VID split; 0 for MARS
    seed: int  # `train.seed`
    epochs: int  # the epoch of the last evaluation
    init: str  # how the weights started (`init_label`)
    rank1: float  # percent, at the last evaluation
    rank5: float
    rank10: float
    rank20: float
    mAP: float
    chance_rank1: float  # a random ranking under the same protocol, percent
    num_valid_queries: int
    ci95: Mapping[str, Interval]  # 95% bootstrap intervals over queries of rank1 and mAP
    train_seconds: float  # every epoch's training time, evaluations left out
    profile: str  # "quick" | "full"
    digest: str  # `RunConfig.digest()`: the run's folder is `<dataset>-<digest>`
    run_dir: str  # the run's folder relative to the repository, e.g. "runs/mars-7ea1a54d406b"
    # the attention's health on training clips at the run's end (`AttentionHealth.to_json`):
    # dead_fraction, entropy, erased_weight, clean_weight; None for runs recorded without it
    attention: Mapping[str, float | None] | None = None

    def __post_init__(self) -> None:
        if is_absolute(self.run_dir):
            raise ValueError(
                f"run_dir={self.run_dir!r}: expected a folder relative to the repository"
            )

    def value(self, metric: str) -> float:
        """The value of `metric` ("rank1", ..., "mAP")."""
        if metric not in METRICS:
            raise ValueError(f"Unknown metric {metric!r}: must be one of {METRICS}")
        return getattr(self, metric)

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "setting": self.setting,
            "dataset": self.dataset,
            "split": self.split,
            "seed": self.seed,
            "epochs": self.epochs,
            "init": self.init,
            **{metric: self.value(metric) for metric in METRICS},
            "chance_rank1": self.chance_rank1,
            "num_valid_queries": self.num_valid_queries,
            "ci95": {k: list(v) for k, v in self.ci95.items()},
            "train_seconds": self.train_seconds,
            "profile": self.profile,
            "digest": self.digest,
            "run_dir": self.run_dir,
        }
        if self.attention is not None:
            entry["attention"] = dict(self.attention)
        return entry


@dataclass(frozen=True, kw_only=True)
class SettingSummary:
    """One setting's runs over splits (PRID2011, iLIDS-VID) and training seeds: each metric's
    mean over them, its standard deviation over the splits (as the literature reports it), each
    seed's value, and the 95% interval that resamples the seeds and the queries of every split
    together (`seed_query_ci`)."""

    setting: str
    dataset: str
    splits: tuple[int, ...]
    seeds: tuple[int, ...]
    epochs: int
    init: str
    mean: Mapping[str, float]  # metric ("rank1", ..., "mAP") -> mean over splits and seeds, %
    std: Mapping[str, float]  # metric -> sample standard deviation over the splits (0 for one)
    seed_values: Mapping[str, tuple[float, ...]]  # metric -> each seed's mean over the splits
    ci95: Mapping[str, Interval]  # rank1 and mAP over the seeds and the pooled queries

    def value(self, metric: str) -> float:
        """The mean of `metric` over the splits and seeds."""
        if metric not in self.mean:
            raise ValueError(f"Unknown metric {metric!r}: must be one of {list(self.mean)}")
        return self.mean[metric]

    def to_json(self) -> dict[str, Any]:
        """`metrics.json`'s summary entry: `rank1`, `rank1_std`, `rank1_seeds`, ... beside the
        labels."""
        entry: dict[str, Any] = {
            "setting": self.setting,
            "dataset": self.dataset,
            "splits": list(self.splits),
            "seeds": list(self.seeds),
            "epochs": self.epochs,
            "init": self.init,
        }
        for metric, value in self.mean.items():
            entry[metric] = value
            entry[f"{metric}_std"] = self.std[metric]
            entry[f"{metric}_seeds"] = list(self.seed_values[metric])
        entry["ci95"] = {k: list(v) for k, v in self.ci95.items()}
        return entry


@dataclass(frozen=True, kw_only=True)
class TableRow:
    """One row of a paper-vs-ours table (`reidlib.results.paper_vs_ours`)."""

    setting: str
    metric: str
    paper: float | None  # None where the paper is silent
    ours: float
    ci95: Interval | None = None  # where ours is measured on queries (and seeds)
    seed_values: tuple[float, ...] = ()  # each training seed's value where there are several
    init: str | None = None  # how a trained run started (`init_label`)
    dataset: str | None = None  # where it is not the notebook's dataset


def ci95(runs: Sequence[QueryOutcomes]) -> dict[str, Interval]:
    """95% bootstrap intervals of rank-1 and mAP over the queries of one setting's runs (one
    per training seed), seeds resampled too (`seed_query_ci`, fixed seed), in percent, rounded
    to two decimals; over queries alone for one run (`bootstrap_ci`)."""
    intervals = seed_query_ci(runs, ranks=(1,))
    return {k: (round(intervals[k][0], 2), round(intervals[k][1], 2)) for k in ("rank1", "mAP")}


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


def last_evaluation(trainer: Trainer) -> dict[str, Any]:
    """The epoch log record of a finished run's last evaluation."""
    evaluated = [r for r in trainer.history if "rank1" in r]
    if not evaluated:
        raise ValueError(f"{trainer.out_dir}: the run has no evaluation yet")
    return evaluated[-1]


def run_outcomes(trainer: Trainer) -> QueryOutcomes:
    """What each query scored at a finished run's last evaluation."""
    return QueryOutcomes.from_json(last_evaluation(trainer)["queries"])


def run_result(trainer: Trainer, *, setting: str, profile: str, repo: Path) -> RunResult:
    """What a finished run reports: its last evaluation (rank-k, mAP, chance rank-1, valid
    queries) with the 95% intervals of rank-1 and mAP, and where it comes from.

    Args:
        trainer: a finished run with a folder (`reidlib.training.train`).
        setting: the row it fills, e.g. "T=4".
        profile: the profile it was configured from, "quick" or "full".
        repo: the repository; the run's folder is recorded relative to it.
    """
    if trainer.out_dir is None:
        raise ValueError(f"{trainer.cfg.name}: the run has no folder to report")
    last = last_evaluation(trainer)
    return RunResult(
        setting=setting,
        dataset=trainer.cfg.data.dataset,
        split=trainer.cfg.data.split_id,
        seed=trainer.cfg.train.seed,
        epochs=last["epoch"],
        init=init_label(trainer.cfg),
        **{metric: last[metric] for metric in METRICS},
        chance_rank1=last["chance_rank1"],
        num_valid_queries=last["num_valid_queries"],
        ci95=ci95([run_outcomes(trainer)]),
        train_seconds=round(sum(r["train_seconds"] for r in trainer.history), 1),
        profile=profile,
        digest=trainer.cfg.digest(),
        run_dir=Path(os.path.relpath(Path(trainer.out_dir).resolve(), repo.resolve())).as_posix(),
        attention=last.get("attention"),
    )


def pool_outcomes(outcomes: Sequence[QueryOutcomes]) -> QueryOutcomes:
    """The queries of several splits as one sample; two settings pooled in the same split order
    stay paired query by query."""
    return QueryOutcomes(
        np.concatenate([o.first_match_rank for o in outcomes]),
        np.concatenate([o.average_precision for o in outcomes]),
    )


def summarize(records: Sequence[RunResult], outcomes: Sequence[QueryOutcomes]) -> SettingSummary:
    """One setting's runs over splits and seeds, summarised (`SettingSummary`).

    Args:
        records: the runs of one setting and dataset, one per split and seed.
        outcomes: what each query scored in each of those runs, in the same order.
    """
    first = records[0]
    mixed = {(r.setting, r.dataset) for r in records} - {(first.setting, first.dataset)}
    if mixed or len(outcomes) != len(records):
        raise ValueError(
            f"summarize: expected runs of {first.setting!r} on {first.dataset} only, one "
            f"outcome each; got {sorted(mixed)} besides and {len(outcomes)} outcomes for "
            f"{len(records)} runs"
        )
    splits = tuple(dict.fromkeys(r.split for r in records))
    seeds = tuple(dict.fromkeys(r.seed for r in records))
    runs = {(r.split, r.seed): (r, o) for r, o in zip(records, outcomes)}
    if len(runs) != len(records) or len(runs) != len(splits) * len(seeds):
        raise ValueError(
            f"summarize: {first.setting!r} on {first.dataset}: expected one run per split "
            f"{list(splits)} and seed {list(seeds)}, got {sorted(runs)}"
        )
    grid = {  # metric -> (splits, seeds) values
        metric: np.array([[runs[sp, se][0].value(metric) for se in seeds] for sp in splits])
        for metric in METRICS
    }
    by_seed = [pool_outcomes([runs[split, seed][1] for split in splits]) for seed in seeds]
    return SettingSummary(
        setting=first.setting,
        dataset=first.dataset,
        splits=splits,
        seeds=seeds,
        epochs=first.epochs,
        init=first.init,
        mean={m: float(v.mean()) for m, v in grid.items()},
        std={
            m: float(v.mean(axis=1).std(ddof=1)) if len(splits) > 1 else 0.0
            for m, v in grid.items()
        },
        seed_values={m: tuple(float(x) for x in v.mean(axis=0)) for m, v in grid.items()},
        ci95=ci95(by_seed),
    )
