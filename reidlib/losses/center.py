"""Center loss (Wen et al., [17]), Eq. (11), with the centers' own SGD step."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from reidlib.choices import CenterReduction


class CenterLoss(nn.Module):
    """Center loss, Eq. (11): squared distance of each feature to its class center.

    `reduction="mean"` (default) is the reference code's Σ_i ‖f_i − c_{y_i}‖² / B;
    `reduction="half_sum"` is the paper's ½ Σ_i ‖f_i − c_{y_i}‖² (docs/decisions.md §2.2). The
    weight β of Eq. (13) is applied outside, by `ReIDLoss`.

    The centers are a parameter of this module, initialised from a standard normal. They are
    not trained by the network's optimiser: `make_center_optimizer` gives them their own SGD
    (lr 0.5), and `step_centers` undoes β in their gradient before stepping, as the reference
    trainers do, so the centers move by lr·∂center/∂c whatever β is.

    Reference:
        Eq. (11) of the paper; Wen et al., "A Discriminative Feature Learning Approach for Deep
        Face Recognition" ([17]).

    Args:
        num_classes: N, number of training identities.
        feat_dim: D, feature width (2048).
        reduction: `"mean"` (Σ/B, the code) or `"half_sum"` (½Σ, the paper).
        generator: random source of the initial centers; None uses torch's global one.
    """

    def __init__(
        self,
        num_classes: int,
        feat_dim: int,
        *,
        reduction: CenterReduction = "mean",
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if reduction not in ("mean", "half_sum"):
            raise ValueError(
                f"Unknown center-loss reduction {reduction!r}: must be 'mean' or 'half_sum'"
            )
        self.reduction = reduction
        self.centers = nn.Parameter(torch.randn(num_classes, feat_dim, generator=generator))

    def forward(self, features: Tensor, pids: Tensor) -> Tensor:
        """Eq. (11) for a batch (unweighted).

        Args:
            features: `(B, D)` (post-BNNeck f in this project, docs/decisions.md §1.3).
            pids: training pids in `0..N-1`, `(B,)`.

        Returns:
            The loss, a scalar.
        """
        if features.ndim != 2 or features.shape[1] != self.centers.shape[1]:
            raise ValueError(
                f"features must be (B, {self.centers.shape[1]}), got {tuple(features.shape)}"
            )
        sq = (features - self.centers[pids.long()]).pow(2).sum(dim=1)  # ‖f_i − c_{y_i}‖²
        if self.reduction == "half_sum":
            return 0.5 * sq.sum()  # ½ Σ_i, Eq. (11)
        return sq.mean()  # Σ_i / B, the reference code


def make_center_optimizer(center_loss: CenterLoss, *, lr: float = 0.5) -> torch.optim.SGD:
    """The centers' own optimiser: plain SGD, lr 0.5, as in the reference code.

    Args:
        center_loss: the module holding the centers.
        lr: SGD learning rate.

    Returns:
        An SGD optimiser over `center_loss.centers`.
    """
    return torch.optim.SGD(center_loss.parameters(), lr=lr)


def step_centers(
    optimizer: torch.optim.Optimizer, center_loss: CenterLoss, *, weight: float, pids: Tensor
) -> None:
    """Rescales the centers' gradient, then steps their optimiser.

    The total loss holds β·center (Eq. 13), so after `backward()` the centers' gradient is β
    times that of the unweighted loss; the reference trainers multiply it by 1/β before the SGD
    step. With `reduction="half_sum"` the unweighted gradient of center j is
    Σ_{y_i = j} (c_j − f_i) = n_j (c_j − mean_j): at lr 0.5 and n_j = 4 the step would carry
    c_j to the far side of its class mean, reflecting it instead of moving it there. So, as in
    Wen et al. ([17], the update Δc_j = Σ_{y_i = j} (c_j − f_i) / (1 + n_j)), the gradient of
    each center is divided by 1 + n_j, its count in the batch; the step becomes
    lr·n_j/(1 + n_j)·(c_j − mean_j). `reduction="mean"` (Σ/B, the code) needs no such scale.
    With β = 0 the center loss is off (`loss.center_weight=0`): it sends the centers no
    gradient, and they stay where they started. Call after `loss.backward()`; zeroing the
    gradients stays with the trainer (it zeroes both optimisers before the next backward).

    Args:
        optimizer: the centers' optimiser, from `make_center_optimizer`.
        center_loss: the module holding the centers.
        weight: β, the center-loss weight used in the total loss (>= 0; 0: no step).
        pids: the training pids of the batch the gradient comes from (the global batch under
            DDP), `(B,)`.
    """
    if weight < 0:
        raise ValueError(f"weight must be >= 0 (β of Eq. 13), got {weight}")
    if weight == 0:
        return  # the center loss is off: nothing to learn, and 1/β does not exist
    grad = center_loss.centers.grad
    if grad is not None:
        grad.mul_(1.0 / weight)
        if center_loss.reduction == "half_sum":
            counts = torch.bincount(pids.long(), minlength=grad.shape[0]).to(grad.dtype)
            grad.div_(1.0 + counts.unsqueeze(1))  # Wen et al.: Σ(c − f) / (1 + n_j)
    optimizer.step()
