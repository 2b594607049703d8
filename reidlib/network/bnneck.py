"""BNNeck head (Luo et al., [18]): BatchNorm on the clip feature, then a bias-free classifier."""

from __future__ import annotations

from torch import Tensor, nn

from reidlib.types import ReIDOutput


class BNNeckHead(nn.Module):
    """BatchNorm1d with a frozen (zero) bias, then a bias-free linear classifier.

    Per §III-B of the paper, the features after BNNeck feed both the classifier and the metric
    losses. Initialisation follows the reference code: BN weight 1, bias 0 and frozen; classifier
    N(0, 0.001²) (the paper says "Kaiming"; docs/decisions.md §8).

    Args:
        in_features: D, width of the clip feature (2048).
        num_classes: N, number of training identities.
    """

    def __init__(self, in_features: int, num_classes: int) -> None:
        super().__init__()
        self.bnneck = nn.BatchNorm1d(in_features)
        nn.init.ones_(self.bnneck.weight)
        nn.init.zeros_(self.bnneck.bias)
        self.bnneck.bias.requires_grad_(False)
        self.classifier = nn.Linear(in_features, num_classes, bias=False)
        nn.init.normal_(self.classifier.weight, std=0.001)

    def forward(
        self, feature: Tensor, *, attention_scores: Tensor, attention_weights: Tensor
    ) -> ReIDOutput:
        bn_feature = self.bnneck(feature)
        return ReIDOutput(
            logits=self.classifier(bn_feature),
            feature=feature,
            bn_feature=bn_feature,
            attention_scores=attention_scores,
            attention_weights=attention_weights,
        )
