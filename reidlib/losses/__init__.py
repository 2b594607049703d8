"""Training losses of Eq. (3)–(13): ID, ranked list, center, erasing-attention, and their sum."""

from reidlib.losses.center import CenterLoss, make_center_optimizer, step_centers
from reidlib.losses.dynamics import bnneck_like_batch, fit_centers, fit_ranked_list
from reidlib.losses.erasing_attention import erasing_attention_loss
from reidlib.losses.label_smoothing import LabelSmoothingCrossEntropy, label_smoothing_targets
from reidlib.losses.ranked_list import RankedListLoss, pairwise_euclidean, ranked_list_terms
from reidlib.losses.total import ReIDLoss, build_loss

__all__ = [
    "CenterLoss",
    "LabelSmoothingCrossEntropy",
    "RankedListLoss",
    "ReIDLoss",
    "bnneck_like_batch",
    "build_loss",
    "erasing_attention_loss",
    "fit_centers",
    "fit_ranked_list",
    "label_smoothing_targets",
    "make_center_optimizer",
    "pairwise_euclidean",
    "ranked_list_terms",
    "step_centers",
]
