"""Warm-up and step-decay learning-rate schedule, Eq. (2), in its three forms."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence

import torch

from reidlib.choices import ScheduleForm


def lr_at_epoch(
    epoch: int,
    *,
    form: ScheduleForm = "reference",
    base_lr: float = 3.5e-4,
    milestones: Sequence[int] = (40, 70),
    gamma: float = 0.1,
    warmup_epochs: int = 10,
    warmup_factor: float = 0.01,
) -> float:
    """Learning rate during the 0-based `epoch`, Eq. (2).

    > "starting from 3.5 × 10⁻⁵ followed by a linearly increase in the first 10 epochs until
    > reaching 3.5 × 10⁻⁴ ... at epoch 40 is decayed back to 3.5 × 10⁻⁵ ... at epoch 70 to
    > 3.5 × 10⁻⁶" (§III-B)

    Forms (docs/decisions.md §3 "Schedule", §8):

    - `"reference"` (default): the reference code's warm-up multi-step schedule, stepped at the
      start of each epoch, so 0-based epoch e uses k = e + 1:
      base·w(k)·γ^{#milestones ≤ k}, w(k) = f(1 − k/W) + k/W for k < W, else 1
      (f = `warmup_factor`, W = `warmup_epochs`). Epoch 0 runs at 3.815e-5; the decays
      apply from 0-based epochs 39 and 69.
    - `"paper"`: Eq. (2) with its first branch corrected to base·E/W as the text describes,
      E = e + 1: base·E/W for E ≤ W, then base·γ^{#milestones < E}.
    - `"paper_printed"`: Eq. (2) literally, whose first branch prints 3.5e-5·E/10, i.e.
      (base/10)·E/W (reaching only 3.5e-5 at E = 10, against the text); later branches as
      `"paper"`.

    Eq. (2) stops at E = 120; later epochs keep the last rate.

    Reference:
        Eq. (2) of the paper; warm-up of Goyal et al. ([19]) as used by [18].

    Args:
        epoch: 0-based epoch index.
        form: `"reference"`, `"paper"` or `"paper_printed"`.
        base_lr: the peak rate (3.5e-4).
        milestones: epochs of the decays, ascending (40, 70).
        gamma: decay factor (0.1).
        warmup_epochs: W, length of the linear warm-up (10).
        warmup_factor: the reference form's starting factor (0.01); unused by the paper forms.

    Returns:
        The learning rate.
    """
    if epoch < 0:
        raise ValueError(f"epoch must be >= 0 (0-based), got {epoch}")
    milestones = list(milestones)
    if milestones != sorted(milestones):
        raise ValueError(f"milestones must be ascending, got {milestones}")
    k = epoch + 1  # the reference scheduler's step count; Eq. (2)'s 1-based E
    if form == "reference":
        if k < warmup_epochs:
            alpha = k / warmup_epochs
            warm = warmup_factor * (1 - alpha) + alpha
        else:
            warm = 1.0
        return base_lr * warm * gamma ** bisect_right(milestones, k)  # #milestones <= k
    if form not in ("paper", "paper_printed"):
        raise ValueError(
            f"Unknown schedule form {form!r}: must be 'reference', 'paper' or 'paper_printed'"
        )
    if k <= warmup_epochs:  # first branch of Eq. (2): E <= 10
        start = base_lr if form == "paper" else base_lr / 10  # printed: 3.5e-5
        return start * k / warmup_epochs
    return base_lr * gamma ** bisect_left(milestones, k)  # #milestones < E


def build_scheduler(
    optimizer: torch.optim.Optimizer,
    *,
    form: ScheduleForm = "reference",
    base_lr: float | None = 3.5e-4,
    milestones: Sequence[int] = (40, 70),
    gamma: float = 0.1,
    warmup_epochs: int = 10,
    warmup_factor: float = 0.01,
) -> torch.optim.lr_scheduler.LambdaLR:
    """Eq. (2) as a torch scheduler, stepped once after each epoch.

    A fresh scheduler sets epoch 0's rate; after the trainer's e-th `scheduler.step()` (one at
    the end of every epoch) the rate is `lr_at_epoch(e, ...)`. Each parameter group's rate is its
    own initial `lr` times `lr_at_epoch(e, base_lr=1)`.

    Args:
        optimizer: the network's optimiser (Adam, lr 3.5e-4 in the paper).
        form: see `lr_at_epoch`.
        base_lr: the peak rate the optimiser was built with; checked against every parameter
            group so the rates are what `lr_at_epoch` gives. None skips the check (groups with
            their own rates).
        milestones: see `lr_at_epoch`.
        gamma: see `lr_at_epoch`.
        warmup_epochs: see `lr_at_epoch`.
        warmup_factor: see `lr_at_epoch`.

    Returns:
        A `LambdaLR` over `optimizer`.
    """
    if base_lr is not None:
        for i, group in enumerate(optimizer.param_groups):
            lr = group.get("initial_lr", group["lr"])
            if lr != base_lr:
                raise ValueError(
                    f"parameter group {i} has lr {lr} but base_lr is {base_lr}: build the "
                    "optimiser with lr=base_lr, or pass base_lr=None to scale each group's lr"
                )
    # Validate once, so a bad form fails here rather than inside LambdaLR.
    lr_at_epoch(0, form=form, milestones=milestones)

    def factor(epoch: int) -> float:
        return lr_at_epoch(
            epoch,
            form=form,
            base_lr=1.0,
            milestones=milestones,
            gamma=gamma,
            warmup_epochs=warmup_epochs,
            warmup_factor=warmup_factor,
        )

    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=factor)
