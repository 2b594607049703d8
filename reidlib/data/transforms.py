"""Per-frame transforms (docs/decisions.md §3 and §4).

Training: resize (bicubic), horizontal flip 0.5, pad 10, random crop, ImageNet normalisation,
then random erasing with a flag per frame (the `E_t` of Eq. 12). Test: resize (bicubic), to
tensor, normalise; the resize is kept apart, so decoded test frames can be cached
(`reidlib.data.frame_cache`). Frames of a clip are transformed independently; the random
choices (flip, crop, erasing) draw from the `generator` passed in, so a training clip is a
function of the seed its loader hands it (`reidlib.training.batches`), whatever process or
worker decodes it. `generator=None` draws from torch's default generator, as torch's own
functions do.
"""

from __future__ import annotations

import math

import torch
from PIL import Image
from torch import Tensor
from torch.nn import functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_SIZE = (224, 112)  # (H, W), docs/decisions.md §3


def _resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Bicubic resize with torchvision, imported here: a process that reads decoded frames
    (`reidlib.data.frame_cache`) never needs it, and importing it costs about a second."""
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms.v2 import functional as TF

    return TF.resize(image, list(size), interpolation=InterpolationMode.BICUBIC)


def _pil_to_tensor(image: Image.Image) -> Tensor:
    """uint8 `(C, H, W)` pixels of a PIL image (torchvision, imported here as in `_resize`)."""
    from torchvision.transforms.v2 import functional as TF

    return TF.pil_to_tensor(image)


def _uniform(low: float, high: float, generator: torch.Generator | None) -> float:
    return low + (high - low) * torch.rand(1, generator=generator).item()


def _randint(low: int, high: int, generator: torch.Generator | None) -> int:
    """Uniform integer in `[low, high]`, both inclusive."""
    return int(torch.randint(low, high + 1, (1,), generator=generator).item())


class RandomErasingWithFlag:
    """Random erasing with one attempt, returning whether the frame was erased.

    With probability `p` a rectangle of area `U(scale)·H·W` and aspect `U(ratio)` (uniform on
    a linear scale, as in the reference code) is filled with `value`; if it does not fit the
    frame, nothing is erased. Applied after `Normalize`, so `value` (the ImageNet means) is a
    fill in normalised space, as in the reference code.

    Args:
        p: erasing probability.
        scale: range of the erased area, as a fraction of the frame.
        ratio: range of the aspect `h / w`.
        value: fill per channel.
    """

    def __init__(
        self,
        *,
        p: float = 0.5,
        scale: tuple[float, float] = (0.02, 0.4),
        ratio: tuple[float, float] = (0.3, 1 / 0.3),
        value: tuple[float, ...] = IMAGENET_MEAN,
    ) -> None:
        self.p = p
        self.scale = scale
        self.ratio = ratio
        self.value = value

    def __call__(
        self, image: Tensor, *, generator: torch.Generator | None = None
    ) -> tuple[Tensor, bool]:
        """Erases a copy of `image` (`(C, H, W)`); returns it with the erased flag."""
        if torch.rand(1, generator=generator).item() >= self.p:
            return image, False
        _, height, width = image.shape
        area = _uniform(*self.scale, generator) * height * width
        aspect = _uniform(*self.ratio, generator)
        h = round(math.sqrt(area * aspect))
        w = round(math.sqrt(area / aspect))
        if not (0 < h < height and 0 < w < width):
            return image, False  # the single attempt failed: the frame stays clean
        top = _randint(0, height - h, generator)
        left = _randint(0, width - w, generator)
        out = image.clone()
        fill = torch.tensor(self.value, dtype=image.dtype, device=image.device)
        out[:, top : top + h, left : left + w] = fill.view(-1, 1, 1)
        return out, True

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p}, scale={self.scale}, ratio={self.ratio})"


PAPER_PADDING = 10  # §IV-B: "padded by 10 pixels with zero values" (224×112; docs/decisions.md §3)


class TrainTransform:
    """The training transform of one frame: PIL image -> `((C, H, W) float32, erased)`.

    Resize to `size` (bicubic), flip with probability `flip_p`, zero-pad by `padding`, crop
    `size` at a random position, to tensor, normalise, then `erasing` (None: no erasing, every
    flag False).
    """

    def __init__(
        self,
        *,
        size: tuple[int, int],
        padding: int,
        flip_p: float,
        erasing: RandomErasingWithFlag | None,
    ) -> None:
        self.size, self.padding, self.flip_p, self.erasing = size, padding, flip_p, erasing

    def __call__(
        self, image: Image.Image, *, generator: torch.Generator | None = None
    ) -> tuple[Tensor, bool]:
        return self.augment(_pil_to_tensor(self.resize(image)), generator=generator)

    def resize(self, image: Image.Image) -> Image.Image:
        """The deterministic PIL part, bicubic resize to `size`: the test transform's, so
        decoded frames can be cached (`reidlib.data.frame_cache`)."""
        return _resize(image, self.size)

    def augment(
        self, pixels: Tensor, *, generator: torch.Generator | None = None
    ) -> tuple[Tensor, bool]:
        """The random part, on resized uint8 pixels `(C, H, W)`: flip, zero-pad, crop,
        normalise, erase. Flipping, padding and cropping move pixels and add zeros, so on the
        tensor they give the pixels they give on the PIL image (torchvision's functions on
        tensors compute the same, tests/test_transforms.py)."""
        height, width = self.size
        if torch.rand(1, generator=generator).item() < self.flip_p:
            pixels = pixels.flip(-1)
        if self.padding:
            pixels = F.pad(pixels, [self.padding] * 4)  # zeros on every side
        top = _randint(0, 2 * self.padding, generator)
        left = _randint(0, 2 * self.padding, generator)
        tensor = normalise_pixels(pixels[..., top : top + height, left : left + width])
        if self.erasing is None:
            return tensor, False
        return self.erasing(tensor, generator=generator)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(size={self.size}, padding={self.padding}, "
            f"flip_p={self.flip_p}, erasing={self.erasing})"
        )


def build_train_transform(
    *,
    size: tuple[int, int] = DEFAULT_SIZE,
    padding: int | None = None,
    flip_p: float = 0.5,
    erasing: bool = True,
    erasing_p: float = 0.5,
) -> TrainTransform:
    """The training transform (docs/decisions.md §3).

    Args:
        size: `(H, W)` of the network input.
        padding: zero padding before the random crop; None = the paper's 10 pixels at a height
            of 224 and above, scaled down with smaller inputs (1 pixel at the quick profile's
            32×16), where a fixed 10 pixels would shift the person by up to 60 % of the width.
        flip_p: horizontal flip probability.
        erasing: whether to apply random erasing.
        erasing_p: its probability.
    """
    if padding is None:
        padding = round(PAPER_PADDING * min(size[0] / DEFAULT_SIZE[0], 1.0))
    return TrainTransform(
        size=size,
        padding=padding,
        flip_p=flip_p,
        erasing=RandomErasingWithFlag(p=erasing_p) if erasing else None,
    )


def normalise_pixels(pixels: Tensor) -> Tensor:
    """The tensor part of both transforms: uint8 `(C, H, W)` pixels to float32 in [0, 1], then
    ImageNet normalisation (as torchvision's `to_dtype(scale=True)` and `normalize` compute
    them, operation for operation)."""
    mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32).view(-1, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=torch.float32).view(-1, 1, 1)
    return pixels.to(torch.float32).mul_(1.0 / 255).sub_(mean).div_(std)


def _normalised(image: Image.Image) -> Tensor:
    return normalise_pixels(_pil_to_tensor(image))


class TestTransform:
    """The test transform of one frame (docs/decisions.md §4): PIL image -> `(C, H, W)`
    float32, in two parts. `resize` (bicubic to `size`) is deterministic, so its output can be
    kept between evaluations (`reidlib.data.frame_cache`); the tensor part, `normalise_pixels`,
    turns those pixels into the same tensor as the whole transform."""

    __test__ = False  # a transform, not a pytest test class

    def __init__(self, *, size: tuple[int, int]) -> None:
        self.size = size

    def resize(self, image: Image.Image) -> Image.Image:
        """The deterministic PIL part: bicubic resize to `size`."""
        return _resize(image, self.size)

    def __call__(self, image: Image.Image) -> Tensor:
        return _normalised(self.resize(image))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size})"


def build_test_transform(*, size: tuple[int, int] = DEFAULT_SIZE) -> TestTransform:
    """The test transform (docs/decisions.md §4): PIL image -> `(C, H, W)` float32."""
    return TestTransform(size=size)


def denormalize(images: Tensor) -> Tensor:
    """Undoes the ImageNet normalisation of `(..., C, H, W)` images, for plotting."""
    mean = torch.tensor(IMAGENET_MEAN, dtype=images.dtype, device=images.device).view(-1, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=images.dtype, device=images.device).view(-1, 1, 1)
    return (images * std + mean).clamp(0, 1)
