"""Draws a walking person onto a canvas, all frames of a tracklet at once (vectorised numpy).

Coordinates: `u` across and `v` down the body, in body heights, with `v = 0` at the top of the
head and `v = 1` at the soles; each frame has its own box position and scale, so every mask is
a `(n, H, W)` array. Shapes are soft-edged (one pixel of anti-aliasing).

What shows depends on the side the person is seen from: a backpack covers the back and shows only
straps from the front, a logo and an open jacket show only from the front, hair covers the head
from behind.
"""

from __future__ import annotations

import numpy as np

from reidlib.data.synthetic.people import Person
from reidlib.data.synthetic.shapes import Array, Canvas, box, capsule, ellipse


def draw_person(canvas: Canvas, person: Person, phase: Array, *, view: float, back: bool) -> None:
    """Draws one person; `view` 0 = frontal, 1 = profile; `back` = seen from behind."""
    put = canvas.put
    zero = np.zeros_like(phase)  # `(n, 1, 1)`, makes joint positions per frame
    sw = 0.115 * person.width * (1 - 0.35 * view)  # shoulder half-width
    ww = 0.085 * person.width * (1 - 0.3 * view)  # waist half-width
    hip = 0.055 * person.width * (1 - 0.6 * view)
    waist, swing = person.waist, person.stride * (0.35 + 0.65 * view)
    knee_v = waist + (1 - waist) * 0.5
    thigh, shin = knee_v - waist, 0.97 - knee_v
    leg_r = 0.042 * person.width
    shin_colour = person.lower if person.lower_kind == "trousers" else person.skin
    for side, offset in ((-1, 0.0), (1, np.pi)):
        theta = swing * np.sin(phase + offset)  # thigh angle from vertical
        bend = 0.5 * np.clip(np.sin(phase + offset + 0.6), 0, None) * view  # knee flexion
        hip_pt = (side * hip + zero, waist + zero)
        knee = (hip_pt[0] + thigh * np.sin(theta), hip_pt[1] + thigh * np.cos(theta))
        foot = (knee[0] + shin * np.sin(theta - bend), knee[1] + shin * np.cos(theta - bend))
        put(capsule(hip_pt, knee, leg_r), person.lower)
        put(capsule(knee, foot, 0.9 * leg_r), shin_colour)
        put(
            ellipse((foot[0] + (0.02 if view > 0.5 else 0.0), foot[1]), (0.045, 0.025)),
            person.shoes,
        )
    if person.lower_kind == "skirt":
        skirt_distance, _ = box(-1, 1, waist, knee_v + 0.04)
        put(
            (
                lambda u, v: np.maximum(np.abs(u) - ww - (v - waist) * 0.45, skirt_distance(u, v)),
                (-0.3, 0.3, waist, knee_v + 0.04),
            ),
            person.lower,
        )
    # torso: a trapezoid from the shoulders (v 0.15) to the waist, shaded like a cylinder

    def half(v: Array) -> Array:
        return sw + (ww - sw) * np.clip((v - 0.15) / (waist - 0.15), 0, 1)

    torso_box, _ = box(-1, 1, 0.15, waist + 0.02)
    put(
        (
            lambda u, v: np.maximum(np.abs(u) - half(v), torso_box(u, v)),
            (-sw, sw, 0.15, waist + 0.02),
        ),
        lambda u, v: _torso_colour(person, u, v, half(v), waist, back=back),
        lambda u, v: 1 - 0.35 * np.clip(u / half(v), -1, 1) ** 2,
    )
    if person.bag == "backpack":
        if back:  # the pack covers the back
            put(box(-0.8 * sw, 0.8 * sw, 0.19, waist - 0.05), person.bag_colour)
        elif view > 0.5:  # a bump behind the shoulders
            put(box(-sw - 0.07, -sw + 0.01, 0.18, waist - 0.06), person.bag_colour)
        else:  # straps
            for side in (-1, 1):
                put(
                    box(side * 0.6 * sw - 0.012, side * 0.6 * sw + 0.012, 0.15, waist - 0.1),
                    person.bag_colour,
                )
    # arms swing against the legs
    arm_r = 0.032 * person.width
    sleeve = person.upper if person.long_sleeves else person.skin
    for side, offset in ((-1, np.pi), (1, 0.0)):
        theta = 0.8 * swing * np.sin(phase + offset)
        shoulder = (side * (sw - 0.01) + zero, 0.19 + zero)
        elbow = (
            shoulder[0] + 0.16 * np.sin(theta) + side * 0.01,
            shoulder[1] + 0.16 * np.cos(theta),
        )
        hand = (elbow[0] + 0.15 * np.sin(1.4 * theta), elbow[1] + 0.15 * np.cos(1.4 * theta))
        put(capsule(shoulder, elbow, arm_r), person.upper)
        put(capsule(elbow, hand, 0.9 * arm_r), sleeve)
        put(ellipse(hand, (0.025, 0.025)), person.skin)
    if person.bag == "shoulder":
        side = 1 if view < 0.5 else -1
        put(
            capsule(
                (-side * sw * 0.7 + zero, 0.16 + zero),
                (side * (sw + 0.03) + zero, waist + zero),
                0.008,
            ),
            person.bag_colour,
        )
        put(box(side * sw - 0.02, side * sw + 0.1, waist - 0.02, waist + 0.1), person.bag_colour)
    # neck, head, then hair (which covers the whole head from behind)
    head = (0.012 * view, 0.075)
    put(box(-0.025, 0.025, 0.12, 0.17), person.skin, 0.9)
    if person.long_hair:
        put(box(-0.06, 0.06, 0.05, 0.24 if back else 0.17), person.hair)
    put(ellipse(head, (0.052, 0.068)), person.skin)
    cap_distance, cap_bounds = ellipse(
        (head[0], head[1] - (0.0 if back else 0.025)), (0.056, 0.055)
    )
    if back:
        put((cap_distance, cap_bounds), person.hair)
    else:
        put(
            (lambda u, v: np.maximum(cap_distance(u, v), v - head[1] + 0.005), cap_bounds),
            person.hair,
        )


def _torso_colour(
    person: Person, u: Array, v: Array, half: Array, waist: float, *, back: bool
) -> Array:
    """`(n, H, W, 3)` colour of the upper garment, by pattern; an open jacket and a logo show
    only from the front."""
    p, q = person.upper, person.upper2
    if person.pattern == "hstripes":
        second = ((v / person.stripe_period) % 1.0) < 0.5
    elif person.pattern == "vstripes":
        second = (((u + 1) / (person.stripe_period * 0.7)) % 1.0) < 0.45
    elif person.pattern == "jacket" and not back:
        second = np.abs(u) < 0.35 * half
    elif person.pattern == "two_tone":
        second = v > 0.15 + 0.45 * (waist - 0.15)
    elif person.pattern == "logo" and not back:
        second = (np.abs(u) < 0.04) & (np.abs(v - 0.27) < 0.04)
    else:
        second = np.zeros_like(u, dtype=bool)
    return np.where(second[..., None], q, p).astype(np.float32)
