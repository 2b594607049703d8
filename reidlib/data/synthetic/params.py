"""A synthetic dataset's parameters: one frozen record, checked where it is built.

`synthetic_params(layout, **overrides)` fills in the layout's defaults (`SYNTHETIC_DEFAULTS`)
and builds a `SyntheticParams`; a value out of range raises one `ValueError` that names the
parameter, the value and what was expected. The manifest records `as_manifest()`: the layout's
parameters in the order of its defaults, tuples as lists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

# Camera and detector effects, the same ranges in every layout (`Effects`): strong enough that
# raw pixels of one person differ between cameras about as much as two people's do, while every
# identity cue survives for a network to learn.
EFFECTS: dict[str, Any] = {
    "channel_gain": (0.55, 1.45),  # each colour channel's gain per camera (white balance)
    "gamma": (0.6, 1.6),  # tone curve per camera
    "brightness": 25,  # brightness offset per camera, ± grey levels of 255
    "view_bias": 0.7,  # chance that a tracklet shows its camera's side (front, back or side)
    "box_scale": (0.72, 0.95),  # person height / box height per camera (detector tightness)
    "box_shift": 0.1,  # a tracklet's person off the box centre by up to ±10 % of its width
    "motion_blur": 0.35,  # fraction of cameras with motion blur (3-8 px at 64 px width)
    "low_res": 0.35,  # fraction of cameras that see people small
    "low_res_scale": (0.15, 0.4),  # their resolution as a fraction of the frame's
}
_COMMON = {"image_size": (128, 64), **EFFECTS}
# Each layout's parameters, their defaults and the order the manifest records them in.
SYNTHETIC_DEFAULTS: dict[str, dict[str, Any]] = {
    # quick-profile default: 32 train / 96 test ids, 6 cameras, MARS-like short tracklets; every
    # test id is seen twice or more by each of its cameras, so each camera gives it a query
    "mars": {
        **_COMMON,
        "seed": 0,
        "num_ids": 128,
        "train_fraction": 0.25,
        "num_cameras": 6,
        "length_median": 10,
        "length_range": (2, 60),
        "occlusion_prob": 0.25,
        "distractor_fraction": 0.08,
        "junk_fraction": 0.06,
    },
    # clean views, long and very varied sequences, extra people seen by one camera only
    "prid2011": {
        **_COMMON,
        "seed": 1,  # each layout its own people: no identity is shared between datasets
        "num_ids": 40,
        "num_cameras": 2,
        "length_median": 24,
        "length_range": (5, 80),
        "occlusion_prob": 0.1,
        "single_camera_fraction": (0.15, 0.35),
        "min_split_length": 8,
        "num_splits": 10,
    },
    # crowded views: frequent occlusion, moderate lengths
    "ilidsvid": {
        **_COMMON,
        "seed": 2,
        "num_ids": 40,
        "num_cameras": 2,
        "length_median": 20,
        "length_range": (8, 48),
        "occlusion_prob": 0.5,
        "num_splits": 10,
    },
}


@dataclass(frozen=True, kw_only=True)
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

    def __post_init__(self) -> None:
        _pair("channel_gain", self.channel_gain, 0, 4)
        _pair("gamma", self.gamma, 0.1, 10)
        _number("brightness", self.brightness, 0, 255)
        for name in ("view_bias", "motion_blur", "low_res"):
            _number(name, getattr(self, name), 0, 1)
        _pair("box_scale", self.box_scale, 0.1, 2)
        _number("box_shift", self.box_shift, 0, 0.5)
        _pair("low_res_scale", self.low_res_scale, 0.01, 1)


@dataclass(frozen=True, kw_only=True)
class SyntheticParams(Effects):
    """Everything a synthetic dataset is made from: its layout, who is seen by which camera and
    for how long, and the camera effects' ranges (`Effects`). The same record, the same bytes."""

    layout: str  # "mars", "prid2011" or "ilidsvid": the real dataset's folders and files
    seed: int  # every random stream's root (`streams.Stream`)
    num_ids: int  # people (MARS: train and test; PRID2011: those seen by both cameras)
    num_cameras: int  # 2 to 9 (MARS names hold one digit); PRID2011 and iLIDS-VID: 2
    image_size: tuple[int, int]  # `(H, W)` of the frames
    length_median: float  # tracklet lengths: log-normal around this many frames...
    length_range: tuple[int, int]  # ...clipped to `[low, high]`
    occlusion_prob: float  # chance that an occluder crosses part of a tracklet
    # Parameters of some layouts only, `None` in the others
    train_fraction: float | None = None  # MARS: the fraction of `num_ids` that train
    distractor_fraction: float | None = None  # MARS: pid 0 tracklets per test tracklet
    junk_fraction: float | None = None  # MARS: pid -1 tracklets per test tracklet
    # PRID2011: extra people seen by camera A only and by camera B only, per `num_ids`
    single_camera_fraction: tuple[float, float] | None = None
    min_split_length: int | None = None  # PRID2011: frames both tracklets need to be in a split
    num_splits: int | None = None  # PRID2011 and iLIDS-VID: train/test splits written

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_layout(self.layout)
        own = SYNTHETIC_DEFAULTS[self.layout]
        for name in (f.name for f in fields(self) if f.default is None):  # some layouts' only
            value = getattr(self, name)
            owners = " and ".join(layout for layout, d in SYNTHETIC_DEFAULTS.items() if name in d)
            expected = "a value" if name in own else "None"
            _expect(
                name,
                value,
                (value is None) != (name in own),
                f"{expected} for the {self.layout} layout ({owners} only)",
            )
        _number("seed", self.seed, 0, math.inf, integer=True)
        _number("num_ids", self.num_ids, 4, math.inf, integer=True)  # two train, two test
        if self.layout == "mars":
            _number("num_cameras", self.num_cameras, 2, 9, integer=True)
        else:
            _expect(
                "num_cameras",
                self.num_cameras,
                self.num_cameras == 2,
                f"2 (the {self.layout} layout has exactly 2 cameras)",
            )
        _pair("image_size", self.image_size, 1, math.inf, integer=True, ordered=False)
        _number("length_median", self.length_median, 1, math.inf)
        _pair("length_range", self.length_range, 1, 999, integer=True)
        _number("occlusion_prob", self.occlusion_prob, 0, 1)
        if self.layout == "mars":
            self._check_mars()
        if self.layout == "prid2011":
            _pair("single_camera_fraction", self.single_camera_fraction, 0, 1, ordered=False)
            _number("min_split_length", self.min_split_length, 1, math.inf, integer=True)
        if self.num_splits is not None:
            _number("num_splits", self.num_splits, 1, math.inf, integer=True)

    def _check_mars(self) -> None:
        _number("train_fraction", self.train_fraction, 0, 1)
        train = mars_train_ids(self.num_ids, train_fraction=self.train_fraction)
        _expect(
            "train_fraction",
            self.train_fraction,
            2 <= train <= self.num_ids - 2,
            f"a fraction of num_ids={self.num_ids} leaving two or more train and two or "
            f"more test ids (it leaves {train} training ids)",
        )
        _number("distractor_fraction", self.distractor_fraction, 0, math.inf)
        _number("junk_fraction", self.junk_fraction, 0, math.inf)

    def as_manifest(self) -> dict[str, Any]:
        """The parameters as the manifest records them: the layout's, in the order of its
        defaults, tuples as lists (JSON-ready)."""
        values = {name: getattr(self, name) for name in SYNTHETIC_DEFAULTS[self.layout]}
        return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def synthetic_params(layout: str = "mars", **overrides: Any) -> SyntheticParams:
    """The layout's defaults updated with `overrides` (`None` keeps a default; lists, as a
    manifest holds them, become tuples), checked.

    Raises:
        ValueError: a value out of range, or a parameter the layout does not have.
        TypeError: a parameter no layout has.
    """
    _check_layout(layout)
    given = {k: v for k, v in overrides.items() if v is not None}
    values = {**SYNTHETIC_DEFAULTS[layout], **given}
    return SyntheticParams(
        layout=layout, **{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    )


def mars_train_ids(num_ids: int, *, train_fraction: float) -> int:
    """How many of the MARS layout's `num_ids` identities are training ids."""
    return round(num_ids * train_fraction)


def _check_layout(layout: str) -> None:
    _expect("layout", layout, layout in SYNTHETIC_DEFAULTS, f"one of {sorted(SYNTHETIC_DEFAULTS)}")


def _expect(name: str, value: Any, ok: bool, expected: str) -> None:
    """The one error of a bad parameter: its name, its value and what was expected."""
    if not ok:
        raise ValueError(f"synthetic parameter {name}={value!r}: expected {expected}")


def _is_number(value: Any, low: float, high: float, *, integer: bool) -> bool:
    kind = int if integer else (int, float)
    return isinstance(value, kind) and not isinstance(value, bool) and low <= value <= high


def _bounds(low: float, high: float, *, integer: bool) -> str:
    kind = "an integer" if integer else "a number"
    return f"{kind} >= {low}" if high == math.inf else f"{kind} in [{low}, {high}]"


def _number(name: str, value: Any, low: float, high: float, *, integer: bool = False) -> None:
    ok = _is_number(value, low, high, integer=integer)
    _expect(name, value, ok, _bounds(low, high, integer=integer))


def _pair(
    name: str,
    value: Any,
    low: float,
    high: float,
    *,
    integer: bool = False,
    ordered: bool = True,
) -> None:
    """A tuple of two numbers within `[low, high]`; `ordered`: a range, first <= second."""
    ok = (
        isinstance(value, tuple)
        and len(value) == 2
        and all(_is_number(v, low, high, integer=integer) for v in value)
        and (not ordered or value[0] <= value[1])
    )
    shape = "a (low, high) tuple, low <= high, each" if ordered else "a tuple of two, each"
    _expect(name, value, ok, f"{shape} {_bounds(low, high, integer=integer)}")
