"""A 3D-convolution baseline of comparable depth, for the memory comparison of Table II.

The paper argues that 3D convolutions (M3D, ref. [5]) cost far more memory than its 2D network.
To check that claim on equal terms, this is the same ResNet50 layout with every 3×3 convolution
inflated to 3×3×3 over time (stem 3×7×7), last stride 1, global average pooling over time and
space, and the same BNNeck head: 50 layers deep, like ours, but spatio-temporal throughout. It is
a memory and cost reference, not a reproduction of M3D.
"""

from __future__ import annotations

from torch import Tensor, nn

from reidlib.network.backbone import EXPANSION, LAYERS, OUT_CHANNELS, PLANES
from reidlib.network.bnneck import BNNeckHead
from reidlib.types import ReIDOutput


class Bottleneck3d(nn.Module):
    def __init__(self, inplanes: int, planes: int, *, stride: int = 1) -> None:
        super().__init__()
        width = planes * EXPANSION
        self.conv1 = nn.Conv3d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm3d(planes)
        self.conv2 = nn.Conv3d(
            planes, planes, kernel_size=3, stride=(1, stride, stride), padding=1, bias=False
        )
        self.bn2 = nn.BatchNorm3d(planes)
        self.conv3 = nn.Conv3d(planes, width, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm3d(width)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or inplanes != width:
            self.downsample = nn.Sequential(
                nn.Conv3d(inplanes, width, kernel_size=1, stride=(1, stride, stride), bias=False),
                nn.BatchNorm3d(width),
            )

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class Video3DNet(nn.Module):
    """Inflated 3D ResNet50 + BNNeck; same input `(B, T, C, H, W)` and outputs as `VideoReIDNet`."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv3d(
                3, 64, kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False
            ),
            nn.BatchNorm3d(64),
            nn.ReLU(inplace=True),
            nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
        )
        blocks, inplanes = [], 64
        for planes, count, stride in zip(PLANES, LAYERS, (1, 2, 2, 1)):
            for i in range(count):
                blocks.append(Bottleneck3d(inplanes, planes, stride=stride if i == 0 else 1))
                inplanes = planes * EXPANSION
        self.layers = nn.Sequential(*blocks)
        self.head = BNNeckHead(OUT_CHANNELS, num_classes)

    def forward(self, clips: Tensor) -> ReIDOutput:
        b, t = clips.shape[:2]
        x = self.layers(self.stem(clips.transpose(1, 2)))  # `(B, 2048, T, h, w)`
        feature = x.mean(dim=(2, 3, 4))
        uniform = feature.new_full((b, t), 1.0 / t)
        return self.head(
            feature, attention_scores=feature.new_zeros((b, t)), attention_weights=uniform
        )

    def embed(self, clips: Tensor) -> Tensor:
        return self(clips).bn_feature
