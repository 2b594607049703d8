"""Identification loss: cross-entropy against label-smoothed targets, Eq. (3)–(4)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from reidlib.choices import SmoothingK, check_choice


def label_smoothing_targets(
    pids: Tensor,
    num_classes: int,
    *,
    epsilon: float = 0.1,
    k: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Smoothed target distribution q, Eq. (4).

    q_i = 1 − (N−1)ε/N for the true class and ε/N otherwise, i.e. (1−ε)·onehot + ε/N. With
    `k` given, ε/k replaces ε/N (the reference code's `k` = batch size; docs/decisions.md §2.2).

    Reference:
        Eq. (4) of the paper; Szegedy et al., "Rethinking the Inception Architecture" ([11]).

    Args:
        pids: ground-truth class y of each sample, `(B,)`.
        num_classes: N, the number of training identities.
        epsilon: ε, the smoothing mass (0.1 in the paper).
        k: the divisor of ε; None means N (Eq. 4).
        dtype: floating dtype of the result.

    Returns:
        q, `(B, N)`, on `pids`' device. Rows sum to 1 when `k` is None.
    """
    divisor = num_classes if k is None else k
    onehot = torch.zeros(pids.shape[0], num_classes, dtype=dtype, device=pids.device)
    onehot.scatter_(1, pids.long().unsqueeze(1), 1.0)
    return (1.0 - epsilon) * onehot + epsilon / divisor  # q_y = 1 − (N−1)ε/N, else ε/N


class LabelSmoothingCrossEntropy(nn.Module):
    """ID loss, Eq. (3): ID = Σ_i −q_i log p_i with q from Eq. (4), averaged over the batch.

    `k="classes"` (default) divides ε by N, the number of classes (logits' width), as the paper
    writes. `k="batch"` divides by the batch size instead, a bug of the Re-ID-AR code that puts
    a total target mass of (1−ε) + ε·N/B on each sample (≈2.85 at N = 625, B = 32); it is
    offered only to reproduce that code (docs/decisions.md §2.2).

    Reference:
        Eq. (3)–(4) of the paper; label smoothing from [11].

    Args:
        epsilon: ε in Eq. (4).
        k: `"classes"` (ε/N, the paper) or `"batch"` (ε/B, the Re-ID-AR code).
    """

    def __init__(self, *, epsilon: float = 0.1, k: SmoothingK = "classes") -> None:
        super().__init__()
        check_choice(k, SmoothingK, what="label-smoothing k")
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
        self.epsilon = epsilon
        self.k = k

    def forward(self, logits: Tensor, pids: Tensor) -> Tensor:
        """Mean over the batch of Eq. (3).

        Args:
            logits: classifier scores, `(B, N)`.
            pids: training pids in `0..N-1`, `(B,)`.

        Returns:
            The loss, a scalar.
        """
        num_classes = logits.shape[1]
        k = None if self.k == "classes" else logits.shape[0]
        q = label_smoothing_targets(
            pids, num_classes, epsilon=self.epsilon, k=k, dtype=logits.dtype
        )
        log_p = torch.log_softmax(logits, dim=1)  # log pre_i
        return -(q * log_p).sum(dim=1).mean()  # Σ_i −q_i log pre_i
