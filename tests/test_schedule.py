"""Eq. (2): every epoch 0–120 against docs/decisions.md §3, as a function and a scheduler."""

from __future__ import annotations

import pytest
import torch

from reidlib.training.schedule import build_scheduler, lr_at_epoch

EPOCHS = range(121)  # 0-based; Eq. (2) covers 0..119, epoch 120 keeps the last rate

# docs/decisions.md §3, "code" row: 3.5e-4·(0.01(1 − k/10) + k/10) for k = e + 1 < 10
CODE_WARMUP = [3.815e-5, 7.28e-5, 1.0745e-4, 1.421e-4, 1.7675e-4, 2.114e-4, 2.4605e-4, 2.807e-4]
CODE_WARMUP += [3.1535e-4]  # e = 8, k = 9


def code_table(e: int) -> float:
    """docs/decisions.md §3 table, reference code: e 0–8 warm-up, 9–38, 39–68, 69 on."""
    if e <= 8:
        return CODE_WARMUP[e]
    if e <= 38:
        return 3.5e-4
    if e <= 68:
        return 3.5e-5
    return 3.5e-6


def eq2(e: int, *, first_branch: float) -> float:
    """Eq. (2) at E = e + 1 with the first branch `first_branch`·E/10, then 3.5e-4/e-5/e-6."""
    big_e = e + 1
    if big_e <= 10:
        return first_branch * big_e / 10
    if big_e <= 40:
        return 3.5e-4
    if big_e <= 70:
        return 3.5e-5
    return 3.5e-6  # 70 < E <= 120, and kept after


EXPECTED = {
    "reference": code_table,
    "paper": lambda e: eq2(e, first_branch=3.5e-4),  # corrected, as the text says
    "paper_printed": lambda e: eq2(e, first_branch=3.5e-5),  # literally as printed
}


@pytest.mark.parametrize("form", list(EXPECTED))
def test_lr_at_epoch_matches_the_table_for_every_epoch(form):
    for e in EPOCHS:
        assert lr_at_epoch(e, form=form) == pytest.approx(EXPECTED[form](e), rel=1e-12), e


def test_warmup_hand_values():
    # reference, e = 0: k = 1 -> 0.01·0.9 + 0.1 = 0.109 -> 3.5e-4·0.109 = 3.815e-5
    assert lr_at_epoch(0) == pytest.approx(3.815e-5, rel=1e-12)
    # reference, e = 9: k = 10 = W -> warm-up over, 3.5e-4
    assert lr_at_epoch(9) == pytest.approx(3.5e-4, rel=1e-12)
    # corrected Eq. (2): E = 1 -> 3.5e-4·1/10 = 3.5e-5, the text's starting rate
    assert lr_at_epoch(0, form="paper") == pytest.approx(3.5e-5, rel=1e-12)
    # printed Eq. (2): E = 10 -> 3.5e-5·10/10 = 3.5e-5, then it jumps to 3.5e-4 at E = 11
    assert lr_at_epoch(9, form="paper_printed") == pytest.approx(3.5e-5, rel=1e-12)
    assert lr_at_epoch(10, form="paper_printed") == pytest.approx(3.5e-4, rel=1e-12)


def test_decays_one_epoch_earlier_in_the_reference_code():
    # code: step count k = e + 1 reaches milestone 40 during 0-based epoch 39
    assert lr_at_epoch(38) == pytest.approx(3.5e-4) and lr_at_epoch(39) == pytest.approx(3.5e-5)
    assert lr_at_epoch(68) == pytest.approx(3.5e-5) and lr_at_epoch(69) == pytest.approx(3.5e-6)
    # Eq. (2): E = 40 (e = 39) is still 3.5e-4; E = 41 (e = 40) decays
    assert lr_at_epoch(39, form="paper") == pytest.approx(3.5e-4)
    assert lr_at_epoch(40, form="paper") == pytest.approx(3.5e-5)
    assert lr_at_epoch(69, form="paper") == pytest.approx(3.5e-5)
    assert lr_at_epoch(70, form="paper") == pytest.approx(3.5e-6)


def test_custom_parameters():
    # base 1, W = 4, f = 0.5, milestones (5,), γ 0.5: k = 1 -> 0.5·0.75 + 0.25 = 0.625
    kw = {"base_lr": 1.0, "warmup_epochs": 4, "warmup_factor": 0.5, "milestones": (5,)}
    lrs = [lr_at_epoch(e, gamma=0.5, **kw) for e in range(6)]
    assert lrs == pytest.approx([0.625, 0.75, 0.875, 1.0, 0.5, 0.5])


def test_lr_at_epoch_rejects_bad_input():
    with pytest.raises(ValueError, match="0-based"):
        lr_at_epoch(-1)
    with pytest.raises(ValueError, match="must be 'reference', 'paper' or 'paper_printed'"):
        lr_at_epoch(0, form="cosine")
    with pytest.raises(ValueError, match="ascending"):
        lr_at_epoch(0, milestones=(70, 40))


def run_epochs(scheduler: torch.optim.lr_scheduler.LambdaLR, n: int) -> list[float]:
    """Rates seen during epochs 0..n-1 when the trainer steps the scheduler after each epoch."""
    optimizer = scheduler.optimizer
    lrs = []
    for _ in range(n):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()  # the epoch's updates (no gradients here: a no-op)
        scheduler.step()
    return lrs


@pytest.mark.parametrize("form", list(EXPECTED))
def test_scheduler_gives_the_table_rate_during_every_epoch(form):
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([param], lr=3.5e-4, weight_decay=5e-4)
    lrs = run_epochs(build_scheduler(optimizer, form=form), len(EPOCHS))
    for e, lr in zip(EPOCHS, lrs):
        assert lr == pytest.approx(EXPECTED[form](e), rel=1e-12), e
        assert lr == pytest.approx(lr_at_epoch(e, form=form), rel=1e-12), e


def test_scheduler_checks_the_optimiser_lr_and_scales_groups_without_the_check():
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    with pytest.raises(ValueError, match=r"parameter group 0 has lr 0\.001"):
        build_scheduler(torch.optim.SGD([a], lr=1e-3))
    optimizer = torch.optim.SGD([{"params": [a], "lr": 1.0}, {"params": [b], "lr": 2.0}], lr=1.0)
    scheduler = build_scheduler(optimizer, base_lr=None)
    # fresh scheduler: epoch 0 factor 0.109 on each group's own lr
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.109, 0.218])
    run_epochs(scheduler, 39)  # now in epoch 39: factor 0.1
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.1, 0.2])
