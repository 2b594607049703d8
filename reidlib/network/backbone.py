"""ResNet50 and ResNet50-IBN-a frame encoders with last stride 1 (docs/decisions.md §1.1).

Module and parameter names follow torchvision (plain ResNet50) and IBN-Net (IBN-a), so that
their ImageNet checkpoints load with `strict=True`. The encoder returns the last convolutional
feature map, `(N, 2048, ceil(H/16), ceil(W/16))` at last stride 1; there is no pooling or fc.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from torch import Tensor, nn

from reidlib.network.ibn import IBN

LAYERS = (3, 4, 6, 3)  # bottlenecks per stage, ResNet50
PLANES = (64, 128, 256, 512)
EXPANSION = 4
OUT_CHANNELS = PLANES[-1] * EXPANSION  # 2048


class Bottleneck(nn.Module):
    """1×1 → 3×3 (strided, torchvision's v1.5 placement) → 1×1, plus the shortcut."""

    def __init__(
        self,
        inplanes: int,
        planes: int,
        *,
        stride: int = 1,
        ibn: bool = False,
        downsample: nn.Module | None = None,
    ) -> None:
        super().__init__()
        width = planes * EXPANSION
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = IBN(planes) if ibn else nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, width, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet50(nn.Module):
    """ResNet50 trunk without avgpool/fc; IBN-a in layer1–3 when `ibn=True`.

    Args:
        ibn: use IBN-a (ResNet50-IBN-a) instead of plain BatchNorm in layer1–3.
        last_stride: stride of layer4 (1 in the paper, §IV-B; 2 in the ImageNet model).
    """

    def __init__(self, *, ibn: bool = False, last_stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        strides = (1, 2, 2, last_stride)
        inplanes = 64
        for i, (planes, blocks, stride) in enumerate(zip(PLANES, LAYERS, strides), start=1):
            use_ibn = ibn and i < 4  # IBN-a: layer1-3 only
            layer = self._make_layer(inplanes, planes, blocks, stride=stride, ibn=use_ibn)
            self.add_module(f"layer{i}", layer)
            inplanes = planes * EXPANSION
        self.last_stride = last_stride
        self._init_weights()

    @staticmethod
    def _make_layer(inplanes: int, planes: int, blocks: int, *, stride: int, ibn: bool):
        downsample = None
        if stride != 1 or inplanes != planes * EXPANSION:
            downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes * EXPANSION, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * EXPANSION),
            )
        layers = [Bottleneck(inplanes, planes, stride=stride, ibn=ibn, downsample=downsample)]
        layers += [Bottleneck(planes * EXPANSION, planes, ibn=ibn) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def _init_weights(self) -> None:
        # He initialisation of every conv (fan-out), unit/zero affine norms: the random-init
        # baseline used when no ImageNet file is given.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(
                    m.weight,
                    0.0,
                    math.sqrt(2.0 / (m.kernel_size[0] * m.kernel_size[1] * m.out_channels)),
                )
            elif isinstance(m, nn.BatchNorm2d | nn.InstanceNorm2d) and m.affine:
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        """`x`: `(N, 3, H, W)` -> `(N, 2048, ceil(H/16), ceil(W/16))` at last stride 1."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


def resnet50(*, last_stride: int = 1) -> ResNet50:
    """Plain ResNet50 (torchvision key names)."""
    return ResNet50(ibn=False, last_stride=last_stride)


def resnet50_ibn_a(*, last_stride: int = 1) -> ResNet50:
    """ResNet50-IBN-a (IBN-Net key names)."""
    return ResNet50(ibn=True, last_stride=last_stride)


BACKBONES: dict[str, Callable[..., ResNet50]] = {
    "resnet50": resnet50,
    "resnet50_ibn_a": resnet50_ibn_a,
}


def feature_map_size(input_size: tuple[int, int], *, last_stride: int = 1) -> tuple[int, int]:
    """Spatial size of the backbone's output for an `(H, W)` input.

    Each stride-2 step (conv1, maxpool, layer2, layer3 and layer4 unless `last_stride` is 1)
    maps n to ceil(n / 2); at last stride 1 that is (ceil(H/16), ceil(W/16)), e.g. (14, 7) at
    224×112 (docs/decisions.md §1.2, "Kernel rule").
    """
    steps = 4 + (last_stride == 2)
    sizes = []
    for n in input_size:
        for _ in range(steps):
            n = -(-n // 2)
        sizes.append(n)
    return sizes[0], sizes[1]


def unwrap_state_dict(obj: Mapping[str, object]) -> dict[str, Tensor]:
    """Normalises an ImageNet checkpoint to plain backbone keys.

    Accepts a plain state dict (torchvision, IBN-Net v1.0 release) or the older
    `{"state_dict": {"module.…": …}}` container; strips `module.` and drops `fc.*`.
    """
    if "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]
    state = {}
    for key, value in obj.items():
        key = key.removeprefix("module.")
        if key.startswith("fc."):
            continue
        state[key] = value
    return state


def load_pretrained(backbone: nn.Module, path: Path | str) -> int:
    """Loads ImageNet weights into `backbone` from a local file; never downloads.

    The file is read with `weights_only=True`, so a checkpoint cannot run code. Any key that is
    missing or unexpected after `unwrap_state_dict` is an error naming the file and the keys.
    Which file a run uses is `reidlib.config.resolve_weights`'s business.

    Returns:
        The number of tensors loaded.

    Raises:
        FileNotFoundError: `path` does not exist.
        KeyError: the file's keys do not match the backbone.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: not found (expected a ResNet50 or ResNet50-IBN-a ImageNet state dict; "
            "see data/README.md)"
        )
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle errors, truncated files, non-tensor objects
        raise ValueError(f"{path}: not a readable weights-only PyTorch checkpoint ({err})") from err
    if not isinstance(raw, Mapping):
        raise ValueError(
            f"{path}: expected a state dict (a mapping of names to tensors), got {type(raw).__name__}"
        )
    state = unwrap_state_dict(raw)
    expected = backbone.state_dict()
    missing = sorted(
        k for k in expected if k not in state and not k.endswith("num_batches_tracked")
    )
    unexpected = sorted(k for k in state if k not in expected)
    if missing or unexpected:
        hint = ""
        if any(".bn1.IN." in k for k in missing):
            hint = " (a plain ResNet50 file cannot initialise ResNet50-IBN-a)"
        elif any(".bn1.IN." in k for k in unexpected):
            hint = " (a ResNet50-IBN-a file cannot initialise plain ResNet50)"
        raise KeyError(
            f"{path}: keys do not match the backbone{hint}; "
            f"missing {len(missing)}: {missing[:8]}; unexpected {len(unexpected)}: {unexpected[:8]}"
        )
    mismatched = [k for k, v in state.items() if tuple(v.shape) != tuple(expected[k].shape)]
    if mismatched:
        raise KeyError(f"{path}: tensor shapes differ from the backbone for {mismatched[:8]}")
    backbone.load_state_dict(state, strict=False)  # num_batches_tracked may be absent in old files
    return len(state)


def build_backbone(
    name: str,
    *,
    last_stride: int = 1,
    zero_init_residual: bool = False,
) -> ResNet50:
    """Builds a randomly initialised frame encoder by name (`load_pretrained` loads ImageNet
    weights into it).

    Args:
        name: `"resnet50"` or `"resnet50_ibn_a"`.
        last_stride: 1 as in the paper (§IV-B), 2 for the ImageNet layout.
        zero_init_residual: random initialisation only: start the last BatchNorm scale of every
            residual branch at 0, so that each block starts as the identity (Goyal et al. 2017,
            "Accurate, large minibatch SGD", §5.1; torchvision's `zero_init_residual`). The paper
            starts from ImageNet and never needs it; training from scratch in a few hundred
            steps (the quick profile) does.
    """
    if name not in BACKBONES:
        raise ValueError(f"Unknown backbone {name!r}: must be one of {sorted(BACKBONES)}")
    if last_stride not in (1, 2):
        raise ValueError(f"last_stride must be 1 or 2, got {last_stride}")
    backbone = BACKBONES[name](last_stride=last_stride)
    if zero_init_residual:
        for module in backbone.modules():
            if isinstance(module, Bottleneck):
                nn.init.zeros_(module.bn3.weight)
    return backbone
