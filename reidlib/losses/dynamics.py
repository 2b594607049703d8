"""What a loss does when it alone is optimised: the ranked list loss separating identities and
the center step moving centers to their class means. The method tour shows both forms of each
learning; the tests check the same runs."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from reidlib.choices import CenterReduction, RLLVariant
from reidlib.losses.center import CenterLoss, make_center_optimizer, step_centers
from reidlib.losses.ranked_list import RankedListLoss, pairwise_euclidean, ranked_list_terms


def bnneck_like_batch(
    *, num_ids: int, per_id: int, dim: int, norm: float, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """`num_ids × per_id` features of width `dim` with mean norm `norm` (BNNeck outputs are
    about 45 long): an identity direction plus noise of the same size, so identities overlap as
    early in training. Returns the features `(B, dim)` and their pids `(B,)`."""
    pids = torch.arange(num_ids).repeat_interleave(per_id)
    x = torch.randn(num_ids, dim, generator=generator)[pids]
    x = x + torch.randn(len(pids), dim, generator=generator)
    return x * norm / x.norm(dim=1, keepdim=True).mean(), pids


def fit_ranked_list(
    features: Tensor,
    pids: Tensor,
    *,
    variant: RLLVariant,
    steps: int,
    lr: float,
    every: int = 10,
) -> list[dict[str, float]]:
    """Optimises the features themselves under the ranked list loss (Eq. 10) with SGD.

    Returns:
        Every `every` steps (and at the start): the mean L_P and L_N over anchors and, on the
        unit sphere where the loss measures them, the mean distance between clips of one
        identity and between clips of different identities.
    """
    x = features.detach().clone().requires_grad_(True)
    loss = RankedListLoss(variant=variant)
    sgd = torch.optim.SGD([x], lr=lr)
    same = pids[:, None] == pids[None, :]
    others = ~torch.eye(len(pids), dtype=torch.bool)
    records = []
    for step in range(steps + 1):
        if step % every == 0:
            with torch.no_grad():
                loss_p, loss_n = ranked_list_terms(x, pids, variant=variant)
                d = pairwise_euclidean(F.normalize(x, dim=1))
            records.append(
                {
                    "step": step,
                    "L_P": loss_p.mean().item(),
                    "L_N": loss_n.mean().item(),
                    "mean d, same id": d[same & others].mean().item(),
                    "mean d, other ids": d[~same].mean().item(),
                    "min d, other ids": d[~same].min().item(),
                }
            )
        if step < steps:
            sgd.zero_grad()
            loss(x, pids).backward()
            sgd.step()
    return records


def fit_centers(
    features: Tensor,
    pids: Tensor,
    *,
    reduction: CenterReduction,
    steps: int,
    weight: float = 5e-4,
    generator: torch.Generator,
) -> list[float]:
    """Runs the centers' own SGD step (lr 0.5, gradient divided by β) on fixed features.

    Returns:
        The mean distance from each center to its class mean, at the start and after every
        step (`steps + 1` values).
    """
    num_classes = int(pids.max()) + 1
    means = torch.stack([features[pids == j].mean(0) for j in range(num_classes)])
    center = CenterLoss(num_classes, features.shape[1], reduction=reduction, generator=generator)
    sgd = make_center_optimizer(center)
    distances = []
    for step in range(steps + 1):
        distances.append((center.centers.detach() - means).norm(dim=1).mean().item())
        if step < steps:
            sgd.zero_grad()
            (weight * center(features, pids)).backward()
            step_centers(sgd, center, weight=weight, pids=pids)
    return distances
