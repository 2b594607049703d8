"""The named choices of reidlib: every mode switch and its allowed values, in one place.

The configuration (`reidlib.config`) types its settings with these, and is checked against them
when it is built, so a typo fails at once with the allowed values; the modules that implement
each switch use the same names. Nothing here imports torch.
"""

from __future__ import annotations

from typing import Literal, get_args

Dataset = Literal["mars", "prid2011", "ilidsvid"]
Backbone = Literal["resnet50", "resnet50_ibn_a"]  # Table I
Temporal = Literal["attention", "average"]  # Eq. (1), or temporal average pooling
Eq1Form = Literal["reference", "paper"]  # Σ a f (code) | (1/T) Σ a f (paper)
# §IV-B starts from ImageNet weights; "synthetic": a backbone pre-trained on disjoint synthetic
# identities, the quick profile's stand-in for ImageNet (reidlib.training.pretrain)
Init = Literal["imagenet", "synthetic", "random"]
Sampling = Literal["restricted_random", "random_consecutive"]  # training frames of a clip
SmoothingK = Literal["classes", "batch"]  # N of Eq. (4): number of ids | Re-ID-AR's batch size
RLLVariant = Literal["reference", "paper"]  # Eq. (5)-(10) as the code runs them | as printed
CenterReduction = Literal["mean", "half_sum"]  # Σ/B (code) | ½Σ (Eq. 11)
EattForm = Literal["reference", "paper"]  # pre-softmax s, Σ_t (code) | a and 1/T (Eq. 12)
# the feature the ranked list and center losses read: after BNNeck (§III-B) | before it ([18])
DmlFeature = Literal["bnneck", "pre_bnneck"]
ScheduleForm = Literal["reference", "paper", "paper_printed"]  # Eq. (2)
Precision = Literal["fp32", "bf16"]  # bf16 = bf16 autocast, CUDA only
Metric = Literal["euclidean", "sqeuclidean", "cosine"]  # query-gallery distance


def check_choice(value: object, choices: object, *, what: str) -> None:
    """Raises `ValueError` naming `what` and the allowed values unless `value` is one of the
    `Literal` type `choices`."""
    allowed = get_args(choices)
    if value not in allowed:
        raise ValueError(
            f"Unknown {what} {value!r}: must be one of {', '.join(map(repr, allowed))}"
        )
