"""Random cameras for the synthetic datasets: each view's look and how its detector boxes people.

A `Camera` holds a view's background scene, colour response (a gain per channel, gamma,
brightness offset), saturation, noise, optical and motion blur, resolution, the side of the
walkers it mostly sees and how tightly it boxes them. Each value is a fixed function of one
named uniform draw (`CameraDraws`), whatever the ranges (`Effects`), so changing one range
leaves every other value as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from reidlib.data.synthetic.params import Effects, SyntheticParams
from reidlib.data.synthetic.streams import Stream, random_stream

VIEWS = ("front", "back", "side")  # the sides a camera sees walkers from
NOISE_BANK = 8  # noise frames per camera; tracklets reuse them at random shifts
PANORAMA = 6  # a camera's scene is this many boxes wide; tracklets see different parts


@dataclass(frozen=True, kw_only=True)
class CameraDraws:
    """One camera's uniform draws in `[0, 1)`, named, in the order they are drawn."""

    gain_red: float  # channel gains within `Effects.channel_gain`
    gain_green: float
    gain_blue: float
    gamma: float  # within `Effects.gamma`
    brightness: float  # offset: -1 to 1 times `Effects.brightness`
    saturation: float  # 0.75 to 1.1
    noise: float  # sensor noise std, 0.01 to 0.035
    blur: float  # below 0.4: a soft lens
    motion_blur: float  # below `Effects.motion_blur`: frames smeared along the walk...
    motion_length: float  # ...by 3 to 8 pixels
    low_res: float  # below `Effects.low_res`: people seen small...
    low_res_scale: float  # ...at a resolution within `Effects.low_res_scale`
    box_scale: float  # person height / box height within `Effects.box_scale`
    light: float  # side-lighting slope, -1.2 to 1.2
    jpeg_quality: float  # 75 to 95

    @classmethod
    def draw(cls, rng: np.random.Generator) -> CameraDraws:
        """All of a camera's uniforms, in one call to `rng`."""
        names = [f.name for f in fields(cls)]
        return cls(**dict(zip(names, rng.random(len(names)))))


@dataclass(frozen=True, kw_only=True)
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
    draw = CameraDraws.draw(rng)
    gains = (draw.gain_red, draw.gain_green, draw.gain_blue)
    noise_std = _within((0.01, 0.035), draw.noise)
    motion_blur = 3 + int(draw.motion_length * 6) if draw.motion_blur < effects.motion_blur else 0
    low_res = _within(effects.low_res_scale, draw.low_res_scale)
    return Camera(
        background=_background(rng, image_size=image_size),
        channel_gain=np.array([_within(effects.channel_gain, x) for x in gains], np.float32),
        gamma=_within(effects.gamma, draw.gamma),
        brightness=effects.brightness / 255 * (2 * draw.brightness - 1),
        saturation=_within((0.75, 1.1), draw.saturation),
        noise_std=noise_std,
        noise=_noise_bank(rng, image_size=image_size, std=noise_std),
        blur=bool(draw.blur < 0.4),
        motion_blur=motion_blur,  # 3-8 px at W 64
        low_res=low_res if draw.low_res < effects.low_res else 1.0,
        view=view,
        person_scale=_within(effects.box_scale, draw.box_scale),
        light=_within((-1.2, 1.2), draw.light),
        jpeg_quality=75 + int(draw.jpeg_quality * 21),
    )


def build_cameras(params: SyntheticParams) -> list[Camera]:
    """A dataset's cameras, drawn from its seed: the same cameras every time, the three sides
    (`VIEWS`) given in turn from a drawn first one."""
    first_view = int(random_stream(params.seed, Stream.CAMERAS).integers(len(VIEWS)))
    return [
        sample_camera(
            random_stream(params.seed, Stream.CAMERAS, c),
            image_size=params.image_size,
            effects=params,
            view=VIEWS[(first_view + c) % len(VIEWS)],
        )
        for c in range(params.num_cameras)
    ]


def _within(bounds: tuple[float, float], x: float) -> float:
    """The point at fraction `x` of `bounds`."""
    return float(bounds[0] + (bounds[1] - bounds[0]) * x)


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
