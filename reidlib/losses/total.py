"""The training objective, Eq. (13): ID + RLL + β·center + E_att."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from reidlib.choices import DmlFeature, check_choice
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
    takes the logits, RLL and center loss the post-BNNeck feature f (or, with
    `dml_feature="pre_bnneck"`, the feature before BNNeck: `metric_feature`), E_att the
    pre-softmax attention scores s. Defaults are the paper's settings as resolved in
    docs/decisions.md §2.2.
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
        center_weight: β (5e-4 in every reference code; the paper prints 5e-5); 0 switches the
            center loss off (the term is still reported, unweighted).
        dml_feature: what RLL and center loss read, see `metric_feature`.
        center_reduction: `"mean"` (code) or `"half_sum"` (paper), see `CenterLoss`.
        erasing_weight: weight of E_att (1 in Eq. 13); 0 switches E_att off.
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
        dml_feature: DmlFeature = "bnneck",
        center_reduction: CenterReduction = "mean",
        erasing_weight: float = 1.0,
        eatt_form: EattForm = "reference",
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if eatt_form not in ("reference", "paper"):
            raise ValueError(f"Unknown E_att form {eatt_form!r}: must be 'reference' or 'paper'")
        check_choice(dml_feature, DmlFeature, what="DML feature")
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
        self.dml_feature = dml_feature
        self.erasing_weight = erasing_weight
        self.eatt_form = eatt_form

    def metric_feature(self, output: ReIDOutput) -> Tensor:
        """The clip feature the DML losses (ranked list loss, Eq. 10; center loss, Eq. 11) read.

        `dml_feature="bnneck"` (default): the feature after BNNeck, `output.bn_feature`, as the
        paper places it: "adding BNNeck layer before both of the FC layer and DML loss
        functions results in more robust features" (§III-B). `"pre_bnneck"`: the feature
        before BNNeck, `output.feature`, where Luo et al. ([18], reid-strong-baseline) put
        their triplet and center losses. The ID loss reads the logits either way.

        Reference:
            §III-B of the paper; BNNeck of [18].

        Returns:
            `(B, D)`.
        """
        return output.bn_feature if self.dml_feature == "bnneck" else output.feature

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
                batch's `metric_feature(output)` alone: under DDP, the whole global batch
                gathered from every process (with their gradients), so that RLL compares the
                same lists as a single process would.
            rll_pids: their pids (required with `rll_features`).

        Returns:
            `(total, terms)`: the loss to back-propagate, and every term by name: `"id"`,
            `"rll"`, `"center"` (unweighted), `"eatt"` (unweighted) and `"total"`. The terms
            are still attached to the graph: detach them (or take `.item()`) before storing.
        """
        id_term = self.id_loss(output.logits, pids)  # Eq. (3)
        if (rll_features is None) != (rll_pids is None):
            raise ValueError("rll_features and rll_pids go together")
        embedding = self.metric_feature(output)  # after BNNeck (§III-B) or before it ([18])
        if rll_features is None:
            rll_features, rll_pids = embedding, pids
        rll_term = self.rll(rll_features, rll_pids)  # Eq. (10)
        center_term = self.center(embedding, pids)  # Eq. (11)
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
        feature_dim: D, the width of the features the center and ranked list losses see
            (before and after BNNeck alike).
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
        dml_feature=cfg.dml_feature,
        center_reduction=cfg.center_reduction,
        erasing_weight=cfg.erasing_weight,
        eatt_form=cfg.eatt_form,
        generator=generator,
    )
