"""The training objective, Eq. (13): ID + RLL + β·center + E_att."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from reidlib.losses.center import CenterLoss, CenterReduction
from reidlib.losses.erasing_attention import EattForm, erasing_attention_loss
from reidlib.losses.label_smoothing import LabelSmoothingCrossEntropy, SmoothingK
from reidlib.losses.ranked_list import RankedListLoss, RLLVariant
from reidlib.types import ReIDOutput

if TYPE_CHECKING:
    from reidlib.config import LossConfig


class ReIDLoss(nn.Module):
    """Total loss, Eq. (13): L = ID + RLL + β·center + E_att.

    Which output feeds which term follows the reference code (docs/decisions.md §1.3): the ID loss
    takes the logits, RLL and center loss the post-BNNeck feature f, E_att the pre-softmax
    attention scores s. Defaults are the paper's settings as resolved in docs/decisions.md §2.2.
    The centers live in `self.center` and are trained by their own optimiser
    (`make_center_optimizer`, `step_centers`), not by the network's.

    Reference:
        Eq. (13) of the paper; terms from Eq. (3)–(12).

    Args:
        num_classes: N, number of training identities.
        feat_dim: D, feature width (2048).
        label_smoothing: ε of Eq. (4).
        ls_k: divisor of ε: `"classes"` (paper) or `"batch"` (Re-ID-AR code).
        rll_margin: m (1.3; 0.04 for PRID2011).
        rll_alpha: α (2.0).
        rll_temperature: T of the RLL negative weights.
        rll_lam: λ of Eq. (10).
        rll_variant: `"reference"` or `"paper"`, see `RankedListLoss`.
        center_weight: β (5e-4 in every reference code; the paper prints 5e-5).
        center_reduction: `"mean"` (code) or `"half_sum"` (paper), see `CenterLoss`.
        erasing_weight: weight of E_att (1 in Eq. 13).
        eatt_form: `"reference"` or `"paper"`, see `erasing_attention_loss`.
        generator: random source of the initial centers.
    """

    def __init__(
        self,
        num_classes: int,
        feat_dim: int,
        *,
        label_smoothing: float = 0.1,
        ls_k: SmoothingK = "classes",
        rll_margin: float = 1.3,
        rll_alpha: float = 2.0,
        rll_temperature: float = 1.0,
        rll_lam: float = 1.0,
        rll_variant: RLLVariant = "reference",
        center_weight: float = 5e-4,
        center_reduction: CenterReduction = "mean",
        erasing_weight: float = 1.0,
        eatt_form: EattForm = "reference",
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if eatt_form not in ("reference", "paper"):
            raise ValueError(f"Unknown E_att form {eatt_form!r}: must be 'reference' or 'paper'")
        self.id_loss = LabelSmoothingCrossEntropy(epsilon=label_smoothing, k=ls_k)
        self.rll = RankedListLoss(
            margin=rll_margin,
            alpha=rll_alpha,
            temperature=rll_temperature,
            lam=rll_lam,
            variant=rll_variant,
        )
        self.center = CenterLoss(
            num_classes, feat_dim, reduction=center_reduction, generator=generator
        )
        self.center_weight = center_weight
        self.erasing_weight = erasing_weight
        self.eatt_form = eatt_form

    def forward(
        self,
        output: ReIDOutput,
        pids: Tensor,
        erased: Tensor,
        *,
        rll_features: Tensor | None = None,
        rll_pids: Tensor | None = None,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Eq. (13) for a batch.

        Args:
            output: the network's output for `B` clips of `T` frames.
            pids: training pids in `0..N-1`, `(B,)`.
            erased: 1 for each frame random erasing hit, else 0, `(B, T)`.
            rll_features: the embeddings the ranked list loss ranks, when they are not this
                batch's `output.bn_feature` alone: under DDP, the whole global batch gathered
                from every process (with their gradients), so that RLL compares the same lists
                as a single process would.
            rll_pids: their pids (required with `rll_features`).

        Returns:
            `(total, terms)`: the loss to back-propagate, and every term by name: `"id"`,
            `"rll"`, `"center"` (unweighted), `"eatt"` (unweighted) and `"total"`. The terms
            are still attached to the graph: detach them (or take `.item()`) before storing.
        """
        id_term = self.id_loss(output.logits, pids)  # Eq. (3)
        if (rll_features is None) != (rll_pids is None):
            raise ValueError("rll_features and rll_pids go together")
        if rll_features is None:
            rll_features, rll_pids = output.bn_feature, pids
        rll_term = self.rll(rll_features, rll_pids)  # Eq. (10)
        center_term = self.center(output.bn_feature, pids)  # Eq. (11)
        eatt_term = erasing_attention_loss(
            output.attention_scores, erased, form=self.eatt_form
        )  # Eq. (12)
        total = (
            id_term + rll_term + self.center_weight * center_term + self.erasing_weight * eatt_term
        )  # Eq. (13)
        terms = {
            "id": id_term,
            "rll": rll_term,
            "center": center_term,
            "eatt": eatt_term,
            "total": total,
        }
        return total, terms


def build_loss(
    cfg: LossConfig,
    *,
    num_classes: int,
    feature_dim: int,
    generator: torch.Generator | None = None,
) -> ReIDLoss:
    """The Eq. (13) loss a run's `LossConfig` describes. `cfg.center_lr` is the centers'
    optimiser's rate (`make_center_optimizer`), not a term of the loss.

    Args:
        cfg: the run's loss settings.
        num_classes: N, training identities (the centers' count).
        feature_dim: D, the width of the features the center and ranked list losses see.
        generator: random source of the initial centers.
    """
    return ReIDLoss(
        num_classes,
        feature_dim,
        label_smoothing=cfg.label_smoothing,
        ls_k=cfg.ls_k,
        rll_margin=cfg.rll_margin,
        rll_alpha=cfg.rll_alpha,
        rll_temperature=cfg.rll_temperature,
        rll_lam=cfg.rll_lam,
        rll_variant=cfg.rll_variant,
        center_weight=cfg.center_weight,
        center_reduction=cfg.center_reduction,
        erasing_weight=cfg.erasing_weight,
        eatt_form=cfg.eatt_form,
        generator=generator,
    )
