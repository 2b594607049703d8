"""Ranked list loss (Wang et al., [12]), Eq. (5)–(10), in its paper and reference-code forms."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from reidlib.choices import RLLVariant, check_choice

_NORM_EPS = 1e-12  # f / (‖f‖ + 1e-12) in the reference code
_DIST2_MIN = 1e-12  # d = sqrt(max(d², 1e-12)): also keeps the gradient finite at d = 0
_COUNT_EPS = 1e-5  # added to |P| and Σw by the reference code


def pairwise_euclidean(features: Tensor) -> Tensor:
    """d_ij = ‖f_i − f_j‖₂ for all pairs of a batch, as Eq. (5) uses it.

    d² is clamped below at 1e-12 before the square root (as in the reference code), so the
    diagonal and duplicate features give d = 1e-6 and a finite gradient.

    Args:
        features: `(B, D)`.

    Returns:
        d, `(B, B)`.
    """
    sq = features.pow(2).sum(dim=1)  # ‖f_i‖²
    d2 = sq.unsqueeze(1) + sq.unsqueeze(0) - 2.0 * features @ features.T  # ‖f_i − f_j‖²
    return d2.clamp(min=_DIST2_MIN).sqrt()


def ranked_list_terms(
    features: Tensor,
    pids: Tensor,
    *,
    margin: float = 1.3,
    alpha: float = 2.0,
    temperature: float = 1.0,
    variant: RLLVariant = "reference",
) -> tuple[Tensor, Tensor]:
    """Per-anchor positive and negative parts of the ranked list loss, Eq. (5)–(9).

    With L_m from Eq. (5), for each anchor i:

    - `variant="paper"`: L_P = mean of L_m over the non-trivial positives
      P* = {j ≠ i, same pid, d_ij > α − m} (Eq. 6, 8), 0 when P* is empty;
      L_N = Σ_{N*} w_ij L_m / Σ_{N*} w_ij over the non-trivial negatives
      N* = {other pid, d_ij < α} (Eq. 7, 9), 0 when N* is empty, with w_ij = exp(T(α − d_ij))
      (the weighting of [12]; the paper gives none).
    - `variant="reference"`: L_P = Σ_{j ∈ P} L_m / (|P| + 1e-5) over *all* positives P
      (trivial ones add 0 to the sum but count in |P|); L_N = Σ_{N*} w L_m / (Σ_{N*} w + 1e-5)
      (docs/decisions.md §2.2).

    Both variants L2-normalise the features first, so d ≤ 2 and α = 2 is the diameter of the
    unit sphere: the reference code divides by ‖f‖ + 1e-12, the paper variant projects exactly
    onto the sphere (`F.normalize`), as [12] and pytorch-metric-learning do. On raw BNNeck
    features (norms ≈ 45) no negative would ever lie inside α, and L_N would always be 0.
    The weights w stay in the autograd graph, as in the reference code.

    Reference:
        Eq. (5)–(9) of the paper; Wang et al., "Ranked List Loss for Deep Metric Learning" ([12]).

    Args:
        features: embeddings, `(B, D)` (post-BNNeck f by default, `ReIDLoss.metric_feature`).
        pids: class of each embedding, `(B,)`.
        margin: m; positives are pulled inside α − m.
        alpha: α; negatives are pushed beyond α.
        temperature: T of the negative weights w = exp(T(α − d)).
        variant: `"reference"` or `"paper"`.

    Returns:
        `(L_P, L_N)`, each `(B,)`.
    """
    check_choice(variant, RLLVariant, what="RLL variant")
    if features.ndim != 2 or pids.shape != features.shape[:1]:
        raise ValueError(
            f"features must be (B, D) and pids (B,), got {tuple(features.shape)} "
            f"and {tuple(pids.shape)}"
        )
    if variant == "reference":
        features = features / (features.norm(dim=1, keepdim=True) + _NORM_EPS)  # f̂, as the code
    else:
        features = F.normalize(features, dim=1)  # f̂ = f / ‖f‖, exactly on the unit sphere
    d = pairwise_euclidean(features)  # `(B, B)`
    same = pids.unsqueeze(1) == pids.unsqueeze(0)
    eye = torch.eye(len(pids), dtype=torch.bool, device=d.device)
    positive = same & ~eye  # y_ij = 1, j ≠ i
    negative = ~same  # y_ij = 0

    # Eq. (5): L_m = (1 − y)[α − d]₊ + y[d − (α − m)]₊
    pos_lm = torch.relu(d - (alpha - margin)) * positive
    neg_lm = torch.relu(alpha - d) * negative

    # Eq. (7): N* = other pid, d < α; Eq. (9) weights w = exp(T(α − d)) on N*
    hard_neg = negative & (d < alpha)
    w = torch.exp(temperature * (alpha - d)) * hard_neg
    w_sum = w.sum(dim=1)
    neg_sum = (w * neg_lm).sum(dim=1)

    if variant == "reference":
        loss_p = pos_lm.sum(dim=1) / (positive.sum(dim=1).to(d.dtype) + _COUNT_EPS)
        loss_n = neg_sum / (w_sum + _COUNT_EPS)
        return loss_p, loss_n

    # Eq. (6): P* = same pid, j ≠ i, d > α − m; Eq. (8): L_P = mean of L_m over P*
    hard_pos = positive & (d > alpha - margin)
    n_hard = hard_pos.sum(dim=1).to(d.dtype)
    loss_p = torch.where(n_hard > 0, pos_lm.sum(dim=1) / n_hard.clamp(min=1.0), 0.0)
    # Eq. (9): L_N = Σ_{N*} w L_m / Σ_{N*} w, 0 when N* is empty
    loss_n = torch.where(hard_neg.any(dim=1), neg_sum / torch.where(w_sum > 0, w_sum, 1.0), 0.0)
    return loss_p, loss_n


class RankedListLoss(nn.Module):
    """Ranked list loss, Eq. (10): RLL = L_P + λ·L_N, averaged over the anchors of the batch.

    The default `variant="reference"` is the code the paper's numbers come from (Re-ID-AR's
    `loss.py`, identical to Qidian213's `reanked_loss.py`): L2-normalised features, L_P divided
    by the number of all positives, the 1e-5 terms, T = 1, λ = 1. Its m = 1.3 and α = 2.0 are
    exactly the paper's values, the paper does not give T or λ, and this is the authors' own
    code lineage; hence the default (docs/decisions.md §2.2, §8). `variant="paper"` follows
    Eq. (6)–(10) literally (means over the non-trivial sets). Both normalise the features. The
    pytorch-metric-learning form (1 − λ)L_P + λL_N with λ = 0.5 is this loss with `lam=1.0`,
    times 0.5.

    On unit vectors d ≤ 2 = α, so with the reference variant every negative but an antipodal
    one is non-trivial; with the PRID2011 margin m = 0.04 the positive boundary is 1.96 and
    L_P is almost always 0 (docs/decisions.md §2.2).

    Reference:
        Eq. (5)–(10) of the paper; [12].

    Args:
        margin: m (1.3 for MARS and iLIDS-VID, 0.04 for PRID2011).
        alpha: α (2.0).
        temperature: T of the negative weights exp(T(α − d)) (1.0 in the reference code).
        lam: λ of Eq. (10) (1.0 in the reference code).
        variant: `"reference"` or `"paper"`, see `ranked_list_terms`.
    """

    def __init__(
        self,
        *,
        margin: float = 1.3,
        alpha: float = 2.0,
        temperature: float = 1.0,
        lam: float = 1.0,
        variant: RLLVariant = "reference",
    ) -> None:
        super().__init__()
        check_choice(variant, RLLVariant, what="RLL variant")
        self.margin = margin
        self.alpha = alpha
        self.temperature = temperature
        self.lam = lam
        self.variant = variant

    def forward(self, features: Tensor, pids: Tensor) -> Tensor:
        """Mean over the batch of Eq. (10).

        Args:
            features: embeddings, `(B, D)`.
            pids: class of each embedding, `(B,)`.

        Returns:
            The loss, a scalar.
        """
        loss_p, loss_n = ranked_list_terms(
            features,
            pids,
            margin=self.margin,
            alpha=self.alpha,
            temperature=self.temperature,
            variant=self.variant,
        )
        return (loss_p + self.lam * loss_n).mean()  # Eq. (10), averaged over anchors
