"""Random people and cameras for the synthetic datasets.

A `Person` is an identity's appearance: clothing colours and pattern, hair, bag, body
proportions and gait. A `Camera` is a view's look and its detector: background scene, colour
response (a gain per channel, gamma, brightness offset), saturation, noise, optical and motion
blur, resolution, which side of the walkers it mostly sees and how tightly it boxes them. Colours
come from a palette where dark clothes are common, so raw colour statistics are ambiguous across
people and cameras, while the combination of cues stays consistent for each identity.

How strong the camera effects are is set by `Effects`, from a layout's parameters (recorded in
the manifest); every value a camera draws is a fixed function of its random generator's stream,
whatever the ranges, so changing one range leaves every other draw as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

# Clothing palette (RGB in [0, 1]) and how often each colour is worn.
PALETTE = np.array(
    [
        [0.08, 0.08, 0.09],
        [0.20, 0.20, 0.22],
        [0.45, 0.45, 0.47],
        [0.85, 0.85, 0.82],
        [0.10, 0.13, 0.30],
        [0.20, 0.35, 0.70],
        [0.55, 0.08, 0.10],
        [0.85, 0.20, 0.15],
        [0.15, 0.40, 0.20],
        [0.40, 0.42, 0.20],
        [0.75, 0.65, 0.48],
        [0.40, 0.25, 0.15],
        [0.90, 0.75, 0.15],
        [0.85, 0.50, 0.65],
        [0.40, 0.20, 0.50],
        [0.30, 0.60, 0.65],
    ],
    dtype=np.float32,
)
PALETTE_WEIGHTS = np.array([6, 4, 3, 3, 4, 2, 2, 1.5, 1.5, 1.5, 2, 2, 1, 1, 1, 1])
SKIN = np.array(
    [[0.95, 0.80, 0.68], [0.85, 0.65, 0.50], [0.65, 0.45, 0.32], [0.42, 0.28, 0.20]],
    dtype=np.float32,
)
HAIR = np.array(
    [
        [0.05, 0.04, 0.03],
        [0.25, 0.15, 0.08],
        [0.55, 0.40, 0.20],
        [0.80, 0.70, 0.45],
        [0.50, 0.50, 0.50],
    ],
    dtype=np.float32,
)

PATTERNS = ("solid", "hstripes", "vstripes", "jacket", "two_tone", "logo")
LOWER_KINDS = ("trousers", "shorts", "skirt")
BAGS = ("none", "backpack", "shoulder")
NOISE_BANK = 8  # noise frames per camera; tracklets reuse them at random shifts
PANORAMA = 6  # a camera's scene is this many boxes wide; tracklets see different parts


@dataclass(frozen=True)
class Person:
    """The appearance of one identity (colours RGB in `[0, 1]`, lengths in body heights)."""

    skin: np.ndarray
    hair: np.ndarray
    long_hair: bool
    upper: np.ndarray
    upper2: np.ndarray
    pattern: str
    stripe_period: float
    long_sleeves: bool
    lower: np.ndarray
    lower_kind: str
    shoes: np.ndarray
    bag: str
    bag_colour: np.ndarray
    height: float  # fraction of the camera's person height
    width: float  # shoulder width factor
    waist: float  # v of the waist, 0 = top of head, 1 = soles
    stride: float  # leg swing amplitude (radians)
    cadence: float  # gait phase step per frame (radians)


VIEWS = ("front", "back", "side")


@dataclass(frozen=True)
class Effects:
    """Ranges of the camera and detector effects (a layout's parameters of the same names)."""

    channel_gain: tuple[float, float]  # each channel's gain: white balance, colour response
    gamma: tuple[float, float]  # tone curve exponent
    brightness: float  # offset range ±, in grey levels of 255
    view_bias: float  # chance that a tracklet shows its camera's dominant view
    box_scale: tuple[float, float]  # person height / box height of a camera's detector
    box_shift: float  # a tracklet's horizontal offset range ±, in box widths
    motion_blur: float  # fraction of cameras whose frames are smeared along the walk
    low_res: float  # fraction of cameras that see people small (rendered small, upscaled)
    low_res_scale: tuple[float, float]  # their resolution, as a fraction of the frame's

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Effects:
        """The effects of a layout's parameters (`synthetic_params`)."""
        return cls(**{f.name: _tuple(params[f.name]) for f in fields(cls)})


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


@dataclass(frozen=True)
class Camera:
    """The look of one camera view and how its detector boxes people."""

    background: np.ndarray  # `(H, PANORAMA·W, 3)` panorama the boxes are cut from
    channel_gain: np.ndarray  # `(3,)` per-channel gain (white balance, colour response)
    gamma: float
    brightness: float  # offset added after the tone curve, in [0, 1] units
    saturation: float  # 0 = grey, 1 = unchanged
    noise_std: float
    noise: np.ndarray  # `(NOISE_BANK, H, W, 3)` sensor noise frames, drawn once per camera
    blur: bool  # a soft lens (3-tap blur)
    motion_blur: int  # length in pixels of the smear along the walk; 0 = none
    low_res: float  # resolution as a fraction of the frame's; 1 = full
    view: str  # the side of the walkers it mostly sees: "front", "back" or "side"
    person_scale: float  # person height / box height
    light: float  # side-lighting slope across the body
    jpeg_quality: int

    def describe(self) -> dict[str, Any]:
        """The drawn values, JSON-ready, for the manifest (no background or noise arrays);
        the brightness offset in grey levels of 255, the unit of its range in `Effects`."""
        skip = {"background", "noise"}
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        values["channel_gain"] = [round(float(g), 4) for g in self.channel_gain]
        values["brightness"] = self.brightness * 255
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in values.items()}


def _colour(rng: np.random.Generator, *, exclude: int | None = None) -> tuple[np.ndarray, int]:
    weights = PALETTE_WEIGHTS.copy()
    if exclude is not None:
        weights[exclude] = 0
    index = int(rng.choice(len(PALETTE), p=weights / weights.sum()))
    jitter = rng.normal(0, 0.03, 3).astype(np.float32)
    return np.clip(PALETTE[index] + jitter, 0, 1), index


def sample_person(rng: np.random.Generator) -> Person:
    """Draws one identity's appearance."""
    upper, upper_index = _colour(rng)
    upper2, _ = _colour(rng, exclude=upper_index)
    lower, _ = _colour(rng)
    shoes, _ = _colour(rng)
    bag_colour, _ = _colour(rng)
    return Person(
        skin=SKIN[rng.integers(len(SKIN))],
        hair=HAIR[rng.choice(len(HAIR), p=[0.45, 0.25, 0.12, 0.1, 0.08])],
        long_hair=bool(rng.random() < 0.35),
        upper=upper,
        upper2=upper2,
        pattern=str(rng.choice(PATTERNS, p=[0.3, 0.16, 0.1, 0.16, 0.14, 0.14])),
        stripe_period=float(rng.uniform(0.035, 0.08)),
        long_sleeves=bool(rng.random() < 0.6),
        lower=lower,
        lower_kind=str(rng.choice(LOWER_KINDS, p=[0.7, 0.15, 0.15])),
        shoes=shoes,
        bag=str(rng.choice(BAGS, p=[0.55, 0.25, 0.2])),
        bag_colour=bag_colour,
        height=float(rng.uniform(0.88, 1.0)),
        width=float(rng.uniform(0.85, 1.2)),
        waist=float(rng.uniform(0.47, 0.55)),
        stride=float(rng.uniform(0.3, 0.5)),
        cadence=float(rng.uniform(0.45, 0.8)),
    )


def sample_camera(
    rng: np.random.Generator, *, image_size: tuple[int, int], effects: Effects, view: str
) -> Camera:
    """Draws one camera's look, background included, within the ranges of `effects`.

    Args:
        rng: this camera's randomness.
        image_size: `(H, W)` of its frames.
        effects: the ranges of the camera and detector effects.
        view: the side of the walkers it mostly sees (`VIEWS`); the generator gives cameras the
            three sides in turn, so neighbouring cameras see people from different sides.
    """
    u = rng.random(15)  # every draw below, in a fixed order whatever the ranges

    def within(bounds: tuple[float, float], x: float) -> float:
        return float(bounds[0] + (bounds[1] - bounds[0]) * x)

    noise_std = within((0.01, 0.035), u[6])
    return Camera(
        background=_background(rng, image_size=image_size),
        channel_gain=np.array([within(effects.channel_gain, x) for x in u[:3]], np.float32),
        gamma=within(effects.gamma, u[3]),
        brightness=effects.brightness / 255 * (2 * u[4] - 1),
        saturation=within((0.75, 1.1), u[5]),
        noise_std=noise_std,
        noise=_noise_bank(rng, image_size=image_size, std=noise_std),
        blur=bool(u[7] < 0.4),
        motion_blur=3 + int(u[9] * 6) if u[8] < effects.motion_blur else 0,  # 3-8 px at W 64
        low_res=within(effects.low_res_scale, u[11]) if u[10] < effects.low_res else 1.0,
        view=view,
        person_scale=within(effects.box_scale, u[12]),
        light=within((-1.2, 1.2), u[13]),
        jpeg_quality=75 + int(u[14] * 21),
    )


def _background(rng: np.random.Generator, *, image_size: tuple[int, int]) -> np.ndarray:
    """A `(H, PANORAMA·W, 3)` scene: wall with panels and clutter above a tiled floor."""
    height, width = image_size
    width *= PANORAMA
    y = (np.arange(height, dtype=np.float32) + 0.5)[:, None] / height
    x = (np.arange(width, dtype=np.float32) + 0.5)[None, :] / height  # same unit as y
    wall = _muted(rng, 0.25, 0.85)
    floor = _muted(rng, 0.15, 0.7)
    horizon = rng.uniform(0.45, 0.75)
    # wall: vertical panels (windows, pillars) of a second colour
    period = rng.uniform(0.25, 0.8)
    duty = rng.uniform(0.2, 0.6)
    panel = ((x / period + rng.random()) % 1.0) < duty
    panel_colour = np.clip(wall * rng.uniform(0.7, 1.3) + rng.normal(0, 0.06, 3), 0, 1)
    scene = np.where(panel[..., None], panel_colour, wall) * np.ones((height, 1, 1), np.float32)
    # floor: perspective tiles below the horizon
    depth = np.clip(y - horizon, 1e-3, None)
    tiles = ((x - x.mean()) / depth * 0.15 % 1.0 < 0.5) ^ ((1.0 / depth) % 1.0 < 0.5)
    floor_img = floor * (1 + 0.12 * rng.uniform(0.3, 1.0) * (tiles[..., None] * 2 - 1))
    scene = np.where((y > horizon)[..., None], floor_img, scene)
    # clutter: a few boxes (signs, bins, doors), mostly above the floor line
    for _ in range(int(rng.integers(2, 5)) * PANORAMA):
        x0, w = rng.uniform(0, width / height), rng.uniform(0.05, 0.35)
        y0, h = rng.uniform(0.0, horizon), rng.uniform(0.05, 0.35)
        box = (x >= x0) & (x < x0 + w) & (y >= y0) & (y < y0 + h)
        scene = np.where(box[..., None], _muted(rng, 0.05, 0.95), scene)
    # smooth illumination falloff plus fine texture
    shade = 1 + 0.15 * np.sin(2 * np.pi * (x / rng.uniform(1, 3) + rng.random()))
    shade = shade * (1 - 0.3 * rng.random() * y)
    texture = rng.normal(0, 0.025, (height, width, 1))
    return np.clip(scene * shade[..., None] + texture, 0, 1).astype(np.float32)


def _muted(rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    """A scene colour: random, then pulled most of the way towards its grey."""
    colour = rng.uniform(low, high, 3).astype(np.float32)
    return 0.3 * colour + 0.7 * colour.mean()


def _noise_bank(rng: np.random.Generator, *, image_size: tuple[int, int], std: float) -> np.ndarray:
    """Zero-mean sensor noise frames of standard deviation `std`."""
    return (std * rng.standard_normal((NOISE_BANK, *image_size, 3), dtype=np.float32)).astype(
        np.float32
    )
