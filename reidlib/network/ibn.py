"""Instance-Batch Normalisation (IBN-a), Pan et al., ECCV 2018 (paper ref. [15])."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class IBN(nn.Module):
    """Half the channels through InstanceNorm, the other half through BatchNorm.

    IBN-a puts this in place of `bn1` (the norm after the 1×1 `conv1`) in every bottleneck of
    layer1–3. The attribute names `IN` and `BN` are IBN-Net's, so its checkpoints load strictly.

    Args:
        planes: channels of the input.
        ratio: share of channels that go through InstanceNorm (IBN-Net uses one half).
    """

    def __init__(self, planes: int, *, ratio: float = 0.5) -> None:
        super().__init__()
        self.half = int(planes * ratio)
        self.IN = nn.InstanceNorm2d(self.half, affine=True)  # no running statistics
        self.BN = nn.BatchNorm2d(planes - self.half)

    def forward(self, x: Tensor) -> Tensor:
        """`x`: `(N, planes, h, w)` -> same shape."""
        inst, batch = torch.split(x, [self.half, x.shape[1] - self.half], dim=1)
        return torch.cat((self.IN(inst.contiguous()), self.BN(batch.contiguous())), dim=1)
