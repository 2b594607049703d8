"""The claims the paper makes about its recipe without a table, as data a notebook can check.

Each row of notebook 09 is the base run with one setting of the recipe changed (a preset of
`reidlib.config.PRESETS`), trained once per seed; each `RecipeClaim` names the sentence of the
paper it rests on and the two rows it compares, setting − baseline, for one metric. The rows'
per-query results are paired with the claims by `claim_runs`; the interval of each difference
(over seeds and queries) is computed elsewhere and read by `RecipeClaim.judge`.

Quotes are the paper's words with its reference numbers; its mathematics is written in plain
text, as the notebooks quote it (E_att_L for the erasing-attention loss).

What E_att should do to the attention. §III-C introduces Eq. (12) with "To enhance the impact
of Random Erasing Augmentation (REA), a high attention score is given to the frame containing
the erased region." The equation itself, E_att_L = (1/T) Σ_t E_Label_t·a_t, is a term of the
loss that Eq. (13) minimises: its gradient in a_t is E_Label_t/T ≥ 0, so training lowers the
softmax weights a_t of the erased frames, and, the weights summing to one, raises the clean
frames'. Read with the equation, the "high attention score" is what the loss penalises, not what
it produces: a trained network should give an erased frame less weight than a clean one
(docs/decisions.md §8, "E_att wording"). Notebook 09 shows it with each row's attention health
(`reidlib.evaluation.attention.attention_health`): the mean a_t of erased frames
(`erased_weight`) against that of clean frames (`clean_weight`) on clips drawn as in training,
random erasing and its flags included:

- "E_att as printed": Eq. (12) predicts `erased_weight` below 1/T and below `clean_weight`
  (its minimum puts all the weight on clean frames); the sentence's wording, the opposite.
- "recipe" (the code's form on the pre-softmax ReLU scores s_t): the loss is also lowered by
  driving every s_t to 0, after which the softmax weighs every frame 1/T, so `erased_weight` ≈
  `clean_weight` is the likely outcome. The attention is then temporal average pooling (the
  health's `dead_fraction` near 1), and the §III-A claim compares two poolings that are the same.
- "E_att off": no pressure either way: what the other losses make of the attention.
- "REA off": no frame is erased, so there is no `erased_weight` (and E_att is 0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reidlib.claims import Verdict
from reidlib.evaluation import QueryOutcomes
from reidlib.evaluation.uncertainty import (
    Expected,
    Interval,
    format_interval,
    seed_query_difference,
    verdict,
)

RECIPE = "recipe"

# Notebook 09's rows in page order: label -> preset of `reidlib.config.PRESETS` (None: the base
# run, the recipe as the other notebooks train it).
ROWS: dict[str, str | None] = {
    RECIPE: None,
    "temporal average pooling": "what_average_pooling",
    "E_att as printed": "what_eatt_paper",
    "E_att off": "what_eatt_off",
    "DML losses before BNNeck": "what_dml_pre_bnneck",
    "REA off": "what_rea_off",
    "warm-up off": "what_warmup_off",
    "center loss off": "what_center_off",
}

# `train_rows`'s paper table for these rows: the paper gives no number for any of them
NO_PAPER_NUMBERS: dict[str, dict[str, dict[str, float | None]]] = {
    row: {dataset: {"rank1": None, "mAP": None} for dataset in ("mars", "prid2011", "ilidsvid")}
    for row in ROWS
}

SECTIONS = ("§I", "§III-A", "§III-B", "§III-C")  # the contributions list is in §I
METRICS = ("rank1", "mAP")


@dataclass(frozen=True, kw_only=True)
class RecipeClaim:
    """One claim of the paper about its recipe: `setting` beats `baseline` on `metric`.

    Attributes:
        section: where the paper makes it, one of `SECTIONS`.
        quote: the sentence it rests on, the paper's words with its reference numbers.
        claim: the claim in a few words.
        baseline: the row label (`ROWS`) it is measured against.
        setting: the row label expected to win; the difference is setting − baseline.
        metric: `"rank1"` or `"mAP"`.
        expected: `"positive"` (the setting wins), as `verdict` takes it.
    """

    section: str
    quote: str
    claim: str
    baseline: str
    setting: str
    metric: str
    expected: Expected

    def __post_init__(self) -> None:
        for name in ("baseline", "setting"):
            if getattr(self, name) not in ROWS:
                raise ValueError(
                    f"{name}={getattr(self, name)!r}: expected a row of notebook 09, one of "
                    f"{list(ROWS)}"
                )
        if self.baseline == self.setting:
            raise ValueError(f"baseline and setting are both {self.setting!r}: expected two rows")
        if self.section not in SECTIONS:
            raise ValueError(f"section={self.section!r}: expected one of {SECTIONS}")
        if self.metric not in METRICS:
            raise ValueError(f"metric={self.metric!r}: expected one of {METRICS}")

    def judge(self, interval: Interval) -> str:
        """`verdict` of the interval of setting − baseline (in points) against this claim."""
        return verdict(interval, expected=self.expected)


def _per_metric(
    section: str, quote: str, claim: str, *, baseline: str, setting: str = RECIPE
) -> tuple[RecipeClaim, ...]:
    """A "setting beats baseline" claim for rank-1 and for mAP."""
    return tuple(
        RecipeClaim(
            section=section,
            quote=quote,
            claim=claim,
            baseline=baseline,
            setting=setting,
            metric=metric,
            expected="positive",
        )
        for metric in METRICS
    )


EATT_QUOTE = "The E_att_L guides the model to deal with occlusions in the video."
CONTRIBUTION_2 = (
    "we illustrate that the performance of such an architecture can be readily enabled "
    "following the combined best practice approaches of Batch Normalisation Neck (BNNeck) [18], "
    "Random Erasing Augmentation (REA) [14] and Warmup [19] to jointly boost the performance of "
    "the model."
)

CLAIMS: tuple[RecipeClaim, ...] = (
    *_per_metric(
        "§III-A",
        "The results of the previous comparison study [16], shows that temporal attention is the "
        "most efficient way to capture temporal information among the sequence of frames in the "
        "video as compared to average/max pooling and recurrent neural network (RNN) "
        "aggregation.",
        "temporal attention beats temporal average pooling",
        baseline="temporal average pooling",
    ),
    # E_att as the authors' code trains it (the recipe) against no E_att
    *_per_metric(
        "§III-C",
        EATT_QUOTE,
        "E_att (the code's form) helps",
        baseline="E_att off",
    ),
    # E_att as Eq. (12) prints it, against the same row: the claim is about E_att as the paper
    # defines it, so the printed form is held to it as the code's form is. The paper never
    # compares the two forms (it prints one), so printed vs code's form is no claim: notebook 09
    # can show that difference, with no direction to expect.
    *_per_metric(
        "§III-C",
        EATT_QUOTE,
        "E_att as printed helps",
        baseline="E_att off",
        setting="E_att as printed",
    ),
    # The sentence credits [18] with the pre-BNNeck feature feeding the classifier; [18]'s code
    # feeds its classifier after BNNeck and its triplet and center losses before it. The row
    # moves those losses, which is the difference "before both of the FC layer and DML loss
    # functions" draws.
    *_per_metric(
        "§III-B",
        "The authors of [18] suggest using the features of the clip before the BNNeck layer as "
        "an input to the classifier, FC layer, but our experiments conversely show that adding "
        "BNNeck layer before both of the FC layer and DML loss functions results in more robust "
        "features, which boost the learning scheme of the Re-ID model.",
        "DML losses after BNNeck beat them before BNNeck",
        baseline="DML losses before BNNeck",
    ),
    # Contribution 2's other two practices (BNNeck is the §III-B claim above). Without REA no
    # frame is erased, so that row loses E_att as well, as the paper couples the two (§III-C).
    *_per_metric("§I", CONTRIBUTION_2, "REA boosts the model", baseline="REA off"),
    # In the quick profile the warm-up is its first epoch at half the peak rate
    # (docs/decisions.md §3).
    *_per_metric("§I", CONTRIBUTION_2, "warm-up boosts the model", baseline="warm-up off"),
    *_per_metric(
        "§III-C",
        "Using the center loss [17] in Re-ID model is a good practice as it guides the model to "
        "learn the centre of deep features for each class and decrease the distances between "
        "the embedding and the class they belong to.",
        "center loss helps",
        baseline="center loss off",
    ),
)


@dataclass(frozen=True, kw_only=True)
class ClaimRuns:
    """A claim with the measured runs of its two rows, one `QueryOutcomes` per seed each, on
    the same queries: what a seeds × queries bootstrap of setting − baseline takes."""

    claim: RecipeClaim
    baseline: tuple[QueryOutcomes, ...]
    setting: tuple[QueryOutcomes, ...]


def claim_runs(outcomes: Mapping[str, Sequence[QueryOutcomes]]) -> list[ClaimRuns]:
    """Pairs each claim with the runs of its two rows, in the order of `CLAIMS`.

    Args:
        outcomes: row label (`ROWS`) -> what each query scored in that row's runs, one
            `QueryOutcomes` per seed, the seeds in the same order for every row.

    Returns:
        One `ClaimRuns` per claim whose two rows were both measured.

    Raises:
        ValueError: a label that is not a row, or a row without runs.
    """
    unknown = [label for label in outcomes if label not in ROWS]
    if unknown:
        raise ValueError(f"unknown rows {unknown}: expected labels of {list(ROWS)}")
    empty = [label for label, runs in outcomes.items() if not runs]
    if empty:
        raise ValueError(f"rows {empty} have no runs: expected one QueryOutcomes per seed")
    return [
        ClaimRuns(
            claim=c,
            baseline=tuple(outcomes[c.baseline]),
            setting=tuple(outcomes[c.setting]),
        )
        for c in CLAIMS
        if c.baseline in outcomes and c.setting in outcomes
    ]


WHAT_MATTERS = "what matters"  # the `Verdict.table` of these claims (notebook 09)


def judge_recipe_claims(
    outcomes: Mapping[str, Sequence[QueryOutcomes]], *, dataset: str
) -> list[Verdict]:
    """Judges every claim whose two rows were measured: setting − baseline averaged over each
    row's seeds, with the 95% interval that redraws the queries (shared by both rows) and each
    row's seeds (`seed_query_difference`), read by `RecipeClaim.judge`. The paper gives no
    number for these claims (`Verdict.paper` None).

    Args:
        outcomes: row label (`ROWS`) -> what each query scored in that row's runs, one per seed.
        dataset: where the rows were trained, as the verdicts record it.
    """
    verdicts = []
    for runs in claim_runs(outcomes):
        claim = runs.claim
        difference = seed_query_difference(runs.baseline, runs.setting, ranks=(1,))
        value, interval = difference.value[claim.metric], difference.interval[claim.metric]
        judged = claim.judge(interval)
        verdicts.append(
            Verdict(
                table=WHAT_MATTERS,
                claim=f"{claim.section}: {claim.claim}",
                datasets=(dataset,),
                metric=claim.metric,
                paper=None,
                ours=value,
                ci95=interval,
                verdict=judged,
                line=(
                    f"{claim.section}, {dataset} {claim.metric}: {claim.claim}: "
                    f"{claim.setting} − {claim.baseline} "
                    f"{format_interval(value, interval, signed=True)} -> {judged}"
                ),
            )
        )
    return verdicts
