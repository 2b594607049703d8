"""The comparisons the paper draws in Tables I, III, IV and V, as data a notebook can check.

Each `Claim` names two rows of a `reidlib.paper` table, the dataset(s) and the metric; the
paper's own difference is read from `reidlib.paper` when asked for, and a measured difference
is judged by `verdict` from its bootstrap interval alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reidlib import paper
from reidlib.evaluation.uncertainty import (
    Difference,
    Expected,
    Interval,
    QueryOutcomes,
    difference_of_differences,
    format_interval,
    seed_query_difference,
    verdict,
)


@dataclass(frozen=True, kw_only=True)
class Claim:
    """One comparison of the paper: setting − baseline on a dataset, and what the paper says.

    Attributes:
        table: which table, `"I"`, `"III"`, `"IV"` or `"V"` (`reidlib.paper.TABLE_<table>`).
        description: the claim in words.
        baseline: row name a of that table.
        setting: row name b; the difference is b − a.
        datasets: one dataset: b − a on it; two: (b − a on the first) − (b − a on the second).
        metric: `"rank1"` or `"mAP"`.
        expected: `"positive"`, `"negative"` or `"within"`, as `verdict` takes it.
        tolerance: the bound of a `"within"` claim, in points.
    """

    table: str
    description: str
    baseline: str
    setting: str
    datasets: tuple[str, ...]
    metric: str
    expected: Expected
    tolerance: float = 1.0

    @property
    def paper_difference(self) -> float:
        """The difference the paper's own numbers give, in points."""
        rows = getattr(paper, f"TABLE_{self.table}")
        a, b = rows[self.baseline], rows[self.setting]
        gains = [b[d][self.metric] - a[d][self.metric] for d in self.datasets]
        return gains[0] - sum(gains[1:])

    def judge(self, difference: Difference) -> str:
        """`verdict` of the measured difference's interval against this claim."""
        return verdict(
            difference.interval[self.metric], expected=self.expected, tolerance=self.tolerance
        )

    def report(self, difference: Difference) -> str:
        """One printed line: the claim, the paper's difference, ours with its interval, the verdict."""
        ours = format_interval(
            difference.value[self.metric], difference.interval[self.metric], signed=True
        )
        return (
            f"Table {self.table}, {' vs '.join(self.datasets)} {self.metric}: {self.description}: "
            f"paper {self.paper_difference:+.2f}, ours {ours} -> {self.judge(difference)}"
        )


def _per_dataset(
    table: str, description: str, baseline: str, setting: str, datasets: tuple[str, ...]
) -> tuple[Claim, ...]:
    """A "setting beats baseline" claim for each dataset and metric the table reports."""
    rows = getattr(paper, f"TABLE_{table}")
    return tuple(
        Claim(
            table=table,
            description=description,
            baseline=baseline,
            setting=setting,
            datasets=(dataset,),
            metric=metric,
            expected="positive",
        )
        for dataset in datasets
        for metric in ("rank1", "mAP")
        if rows[baseline][dataset].get(metric) is not None
        and rows[setting][dataset].get(metric) is not None
    )


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """A claim judged on measured runs: a row of `verdicts.csv` and of `metrics.json`."""

    table: str  # "I", "III", "IV" or "V"; "what matters" for the claims without a table
    claim: str  # the claim in words (`Claim.description`)
    datasets: tuple[str, ...]
    metric: str
    paper: float | None  # the paper's difference, in points; None where it gives no number
    ours: float  # ours, in points
    ci95: Interval  # its 95% bootstrap interval
    verdict: str  # `verdict` of the interval against the claim
    line: str  # the printed report (`Claim.report`)

    def to_json(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "claim": self.claim,
            "datasets": list(self.datasets),
            "metric": self.metric,
            "paper": self.paper,
            "ours": self.ours,
            "ci95": list(self.ci95),
            "verdict": self.verdict,
            "line": self.line,
        }


DATASETS = ("mars", "prid2011", "ilidsvid")

CLAIMS: tuple[Claim, ...] = (
    # Table I: IBN-a frames beat plain ResNet50 frames (MARS rank-1, PRID2011, iLIDS-VID)
    *_per_dataset("I", "IBN-a beats R50", "resnet50", "resnet50_ibn_a", DATASETS),
    # Table III: 4-frame clips beat 8-frame clips (MARS rank-1 and mAP, PRID2011, iLIDS-VID)
    *_per_dataset("III", "T = 4 beats T = 8", "T=8", "T=4", DATASETS),
    # Table IV: on MARS the batch size moves rank-1 and mAP by under 1 point
    *(
        Claim(
            table="IV",
            description=f"{setting.split()[0]} vs B=32 differs by under 1 point",
            baseline="B=32 (C=8, K=4)",
            setting=setting,
            datasets=("mars",),
            metric=metric,
            expected="within",
            tolerance=1.0,
        )
        for setting in ("B=36 (C=6, K=6)", "B=48 (C=6, K=8)")
        for metric in ("rank1", "mAP")
    ),
    # Table V: MARS pre-training gains more rank-1 on iLIDS-VID than on PRID2011
    Claim(
        table="V",
        description="MARS pre-training helps iLIDS-VID more than PRID2011",
        baseline="ImageNet",
        setting="MARS",
        datasets=("ilidsvid", "prid2011"),
        metric="rank1",
        expected="positive",
    ),
)


def claims_for(table: str, *, dataset: str | None = None) -> tuple[Claim, ...]:
    """The claims of one table (`"I"`, `"III"`, `"IV"`, `"V"`), or those of it on `dataset`."""
    if table not in {c.table for c in CLAIMS}:
        raise ValueError(f"Unknown table {table!r}: must be one of I, III, IV, V")
    return tuple(
        c for c in CLAIMS if c.table == table and (dataset is None or dataset in c.datasets)
    )


def check_claims(
    table: str, outcomes: Mapping[tuple[str, str], Sequence[QueryOutcomes]]
) -> list[Verdict]:
    """Judges every claim of `table` that the measured runs can speak to.

    Args:
        table: `"I"`, `"III"`, `"IV"` or `"V"`.
        outcomes: `(row, dataset)` -> what each query scored in that row's runs, one per
            training seed (`row` a row name of the paper's table); runs of one dataset must
            share their queries. Each difference is averaged over the seeds and its interval
            resamples seeds and queries (`seed_query_difference`).

    Returns:
        One `Verdict` per claim whose rows and datasets were all measured.
    """
    verdicts = []
    for claim in claims_for(table):
        pairs = [
            (outcomes.get((claim.baseline, d)), outcomes.get((claim.setting, d)))
            for d in claim.datasets
        ]
        if any(a is None or b is None for a, b in pairs):
            continue
        if len(pairs) == 1:
            difference = seed_query_difference(*pairs[0], ranks=(1,))
        else:
            difference = difference_of_differences(*pairs, ranks=(1,))
        verdicts.append(
            Verdict(
                table=claim.table,
                claim=claim.description,
                datasets=claim.datasets,
                metric=claim.metric,
                paper=claim.paper_difference,
                ours=difference.value[claim.metric],
                ci95=difference.interval[claim.metric],
                verdict=claim.judge(difference),
                line=claim.report(difference),
            )
        )
    return verdicts
