"""Random people for the synthetic datasets.

A `Person` is an identity's appearance: clothing colours and pattern, hair, bag, body
proportions and gait. Colours come from a palette where dark clothes are common, so raw colour
statistics are ambiguous across people and cameras, while the combination of cues stays
consistent for each identity.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True, kw_only=True)
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
