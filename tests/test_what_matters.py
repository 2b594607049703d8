"""Notebook 09's rows and claims: each row is the base run with one setting changed, each claim
names two rows, a section of the paper and a metric, and the rows' runs pair with the claims."""

from __future__ import annotations

import numpy as np
import pytest

from reidlib.config import PRESETS, config_diff, load_profile
from reidlib.evaluation import QueryOutcomes
from reidlib.evaluation.uncertainty import OPPOSITE, SAME, UNRESOLVED
from reidlib.training import lr_at_epoch
from reidlib.what_matters import CLAIMS, ROWS, ClaimRuns, RecipeClaim, claim_runs

# What each row changes in the base run: (setting, base value, row's value).
CHANGED = {
    "recipe": [],
    "temporal average pooling": [("model.temporal", "attention", "average")],
    "E_att as printed": [("loss.eatt_form", "reference", "paper")],
    "E_att off": [("loss.erasing_weight", 1.0, 0.0)],
    "DML losses before BNNeck": [("loss.dml_feature", "bnneck", "pre_bnneck")],
    "REA off": [("data.random_erasing", True, False)],
    "center loss off": [("loss.center_weight", 5e-4, 0.0)],
}
WARMUP = {"quick": 2, "full": 10}  # each profile's warm-up epochs


def test_rows_are_in_page_order_the_recipe_first_each_a_what_preset():
    assert list(ROWS) == [
        "recipe",
        "temporal average pooling",
        "E_att as printed",
        "E_att off",
        "DML losses before BNNeck",
        "REA off",
        "warm-up off",
        "center loss off",
    ]
    assert ROWS["recipe"] is None
    variants = [p for p in ROWS.values() if p is not None]
    assert sorted(variants) == sorted(p for p in PRESETS if p.startswith("what_"))


@pytest.mark.parametrize("profile", ["quick", "full"])
@pytest.mark.parametrize("label", list(ROWS))
def test_each_row_changes_exactly_its_setting_of_the_base_run(profile, label):
    base = load_profile(profile)
    cfg = load_profile(profile, preset=ROWS[label])
    changed = CHANGED.get(label, [("train.warmup_epochs", WARMUP[profile], 0)])
    assert config_diff(base, cfg) == [
        {"setting": setting, "base": a, "other": b} for setting, a, b in changed
    ]
    assert (cfg.digest() == base.digest()) == (label == "recipe")


def test_warm_up_off_drops_only_the_ramp_of_eq2():
    def rates(cfg):
        t = cfg.train
        return [
            lr_at_epoch(
                e,
                form=t.lr_form,
                base_lr=t.lr,
                milestones=t.milestones,
                gamma=t.gamma,
                warmup_epochs=t.warmup_epochs,
                warmup_factor=t.warmup_factor,
            )
            for e in range(t.epochs)
        ]

    full, off = rates(load_profile("full")), rates(load_profile("full", preset="what_warmup_off"))
    assert full[0] == pytest.approx(3.5e-4 * (0.01 * 0.9 + 0.1))  # the ramp's first epoch
    assert off[:9] == [3.5e-4] * 9 and full[:9] != off[:9]
    assert off[9:] == full[9:]  # from the tenth epoch on: Eq. (2)'s steps, the same in both
    # the quick profile's two-epoch warm-up: its first epoch at about half the peak rate
    quick, quick_off = (
        rates(load_profile("quick")),
        rates(load_profile("quick", preset="what_warmup_off")),
    )
    assert quick[0] == pytest.approx(1e-3 * (0.01 * 0.5 + 0.5)) and quick_off[0] == 1e-3
    assert quick[1:] == quick_off[1:]


def test_claims_name_two_rows_a_section_and_both_metrics():
    assert [(c.section, c.baseline, c.setting) for c in CLAIMS[::2]] == [
        ("§III-A", "temporal average pooling", "recipe"),
        ("§III-C", "E_att off", "recipe"),
        ("§III-C", "E_att off", "E_att as printed"),
        ("§III-B", "DML losses before BNNeck", "recipe"),
        ("§I", "REA off", "recipe"),
        ("§I", "warm-up off", "recipe"),
        ("§III-C", "center loss off", "recipe"),
    ]
    for rank1, mean_ap in zip(CLAIMS[::2], CLAIMS[1::2], strict=True):
        assert (rank1.metric, mean_ap.metric) == ("rank1", "mAP")
        assert {k: v for k, v in vars(rank1).items() if k != "metric"} == {
            k: v for k, v in vars(mean_ap).items() if k != "metric"
        }
    assert {c.expected for c in CLAIMS} == {"positive"}
    quotes = {c.baseline: c.quote for c in CLAIMS}
    assert "[16]" in quotes["temporal average pooling"]
    assert all(ref in quotes["REA off"] for ref in ("[18]", "[14]", "[19]"))
    assert "BNNeck layer before both of the FC layer and DML" in quotes["DML losses before BNNeck"]
    assert quotes["center loss off"].startswith("Using the center loss [17]")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"baseline": "E_att printed"}, "baseline='E_att printed': expected a row of notebook 09"),
        ({"setting": "temporal average pooling"}, "both 'temporal average pooling'"),
        ({"section": "§III-D"}, "section='§III-D': expected one of"),
        ({"metric": "rank5"}, "metric='rank5': expected one of"),
    ],
)
def test_a_claim_outside_the_rows_sections_or_metrics_is_an_error(change, message):
    fields = {**vars(CLAIMS[0]), **change}
    with pytest.raises(ValueError, match=message):
        RecipeClaim(**fields)


def test_judge_reads_the_interval_of_setting_minus_baseline():
    claim = CLAIMS[0]
    assert claim.judge((0.5, 3.0)) == SAME
    assert claim.judge((-3.0, -0.5)) == OPPOSITE
    assert claim.judge((-1.0, 2.0)) == UNRESOLVED


def outcomes(first: int) -> QueryOutcomes:
    return QueryOutcomes(np.array([first, 0]), np.array([1.0 / (first + 1), 1.0]))


def test_claim_runs_pairs_each_claim_with_its_rows_runs():
    recipe = [outcomes(0), outcomes(1)]  # two seeds
    average, eatt_off = [outcomes(2), outcomes(3)], [outcomes(4), outcomes(5)]
    pairs = claim_runs(
        {"recipe": recipe, "temporal average pooling": average, "E_att off": eatt_off}
    )
    assert pairs == [
        ClaimRuns(claim=CLAIMS[0], baseline=tuple(average), setting=tuple(recipe)),
        ClaimRuns(claim=CLAIMS[1], baseline=tuple(average), setting=tuple(recipe)),
        ClaimRuns(claim=CLAIMS[2], baseline=tuple(eatt_off), setting=tuple(recipe)),
        ClaimRuns(claim=CLAIMS[3], baseline=tuple(eatt_off), setting=tuple(recipe)),
    ]  # "E_att as printed" was not measured: its claims are left out


def test_claim_runs_rejects_unknown_rows_and_rows_without_runs():
    with pytest.raises(ValueError, match=r"unknown rows \['baseline'\]: expected labels of"):
        claim_runs({"baseline": [outcomes(0)]})
    with pytest.raises(ValueError, match=r"rows \['REA off'\] have no runs"):
        claim_runs({"recipe": [outcomes(0)], "REA off": []})


def test_judge_recipe_claims_averages_seeds_and_judges_each_claim():
    from reidlib.what_matters import WHAT_MATTERS, judge_recipe_claims

    n = 120
    hit = QueryOutcomes(np.zeros(n, dtype=np.int64), np.ones(n))  # every query right at rank 1
    miss = QueryOutcomes(np.full(n, 9), np.full(n, 0.1))
    # the recipe is right on every query with both seeds, average pooling never: same direction;
    # center loss off is as right as the recipe: zero difference, not resolved
    outcomes = {"recipe": [hit, hit], "temporal average pooling": [miss, miss]}
    outcomes["center loss off"] = [hit, hit]
    verdicts = judge_recipe_claims(outcomes, dataset="mars")
    assert [(v.claim.split(":")[0], v.metric) for v in verdicts] == [
        ("§III-A", "rank1"),
        ("§III-A", "mAP"),
        ("§III-C", "rank1"),
        ("§III-C", "mAP"),
    ]
    pooling, _, center, _ = verdicts
    assert pooling.table == WHAT_MATTERS and pooling.paper is None
    assert pooling.ours == pytest.approx(100.0) and pooling.verdict == SAME
    assert center.ours == 0.0 and center.verdict == UNRESOLVED
    assert verdicts[1].ours == pytest.approx(90.0)  # mAP: 100 − 10
    assert "recipe − temporal average pooling +100.0" in pooling.line
