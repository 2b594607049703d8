"""Erasing-attention loss, Eq. (12): attention spent on frames that random erasing hit."""

from __future__ import annotations

import torch
from torch import Tensor

from reidlib.choices import EattForm


def erasing_attention_loss(
    scores: Tensor, erased: Tensor, *, form: EattForm = "reference"
) -> Tensor:
    """E_att, Eq. (12): the attention the erased frames receive, to be minimised.

    `form="reference"` (default) is what the reference code trains with: the pre-softmax ReLU
    scores s_t, summed over the erased frames, averaged over the batch,
    mean_b Σ_t s_bt·E_bt. `form="paper"` is Eq. (12) as printed, on the softmax weights
    a_t = softmax_T(s)_t: (1/T) Σ_t E_t·a_t, averaged over the batch (docs/decisions.md §2.2).
    Either way the loss lowers the erased frames' attention (docs/decisions.md §8, "E_att wording").

    Reference:
        Eq. (12) of the paper; erasing-attention loss of [13] (VPRFT).

    Args:
        scores: raw attention scores s_t before the softmax, `(B, T)`.
        erased: 1 for a frame with an erased region, 0 otherwise (bool or number), `(B, T)`.
        form: `"reference"` or `"paper"`.

    Returns:
        The loss, a scalar.
    """
    if scores.shape != erased.shape:
        raise ValueError(
            f"scores {tuple(scores.shape)} and erased {tuple(erased.shape)} must both be (B, T)"
        )
    flags = erased.to(scores.dtype)  # E_t
    if form == "reference":
        return (scores * flags).sum(dim=1).mean()  # mean_b Σ_t s_t E_t
    if form == "paper":
        weights = torch.softmax(scores, dim=1)  # a_t
        return (weights * flags).mean(dim=1).mean()  # mean_b (1/T) Σ_t E_t a_t
    raise ValueError(f"Unknown E_att form {form!r}: must be 'reference' or 'paper'")
