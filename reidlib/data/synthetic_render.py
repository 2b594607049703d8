"""Draws walking people into camera views, all frames of a tracklet at once (vectorised numpy).

Coordinates: `u` across and `v` down the body, in body heights, with `v = 0` at the top of the
head and `v = 1` at the soles; each frame has its own box position and scale, so every mask is
a `(n, H, W)` array. Shapes are soft-edged (one pixel of anti-aliasing).

A tracklet is seen from the front, the back or the side, mostly from its camera's side
(`Effects.view_bias`), and what shows depends on it: a backpack covers the back and shows only
straps from the front, a logo and an open jacket show only from the front, hair covers the head
from behind. Then the camera's optics and colour response apply (`camera_response`): blur and
motion blur, per-channel gains, gamma, a brightness offset, sensor noise and, for a low-resolution
camera, rendering small and upscaling.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from reidlib.data.synthetic_scene import PANORAMA, VIEWS, Camera, Effects, Person, sample_person
from reidlib.data.synthetic_shapes import Array, Canvas, box, capsule, ellipse


def _person_layers(
    canvas: Canvas, person: Person, phase: Array, *, view: float, back: bool
) -> None:
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


def render_tracklet(
    person: Person | None,
    camera: Camera,
    *,
    num_frames: int,
    rng: np.random.Generator,
    occlusion_prob: float,
    effects: Effects,
    mode: str = "person",
) -> Array:
    """All frames of one tracklet, `(n, H, W, 3)` uint8.

    Args:
        person: who walks; ignored for `mode="junk"`.
        camera: the view.
        num_frames: `n`.
        rng: randomness for this tracklet (view, pose, box, occlusion, noise).
        occlusion_prob: chance that an occluder crosses part of the tracklet.
        effects: the ranges of the detector's box offset and of the view bias.
        mode: "person"; "distractor" (a badly boxed, partial person, as MARS's pid 0); or
            "junk" (background and fragments, as MARS's pid −1).
    """
    height, width = camera.background.shape[0], camera.background.shape[1] // PANORAMA
    n = num_frames
    t = np.arange(n, dtype=np.float32)[:, None, None]
    jitter = rng.standard_normal((3, n, 1, 1), dtype=np.float32)  # detector noise per frame
    placement = rng.random(3)  # this tracklet's box: scale, horizontal offset, feet row
    # box: person height in pixels, feet row and centre column
    scale = camera.person_scale * (person.height if person else 0.9)
    scale = scale * (0.93 + 0.14 * placement[0]) * (1 + 0.03 * jitter[0])
    shift = effects.box_shift * (2 * placement[1] - 1)
    cx = width * (0.5 + shift + 0.02 * jitter[1])
    feet = height * (0.99 - 0.06 * placement[2] + 0.01 * jitter[2])
    if mode != "person":  # a detector box that cuts the person
        scale = scale * rng.uniform(1.3, 2.2)
        cx = cx + width * rng.choice([-1, 1]) * rng.uniform(0.15, 0.45)
        feet = feet + height * rng.uniform(0.0, 0.8)
    hp = np.float32(height) * scale
    # the background slides as the box follows the walker
    start, drift = rng.uniform(0, PANORAMA * width), rng.uniform(-1.5, 1.5)
    cols = (start + drift * t[:, 0, 0, None] + np.arange(width)).astype(np.int64)
    frames = camera.background[:, cols % (PANORAMA * width)].transpose(1, 0, 2, 3)
    frames = frames * rng.uniform(0.8, 1.2, 3).astype(np.float32)  # time of day, lamps
    direction = float(rng.choice([-1.0, 1.0]))  # walking left or right
    xs = (np.arange(width, dtype=np.float32) + 0.5)[None, None, :]
    light = 1 + camera.light * 1.5 * (xs - cx) / hp + rng.normal(0, 0.03)  # side lighting
    canvas = Canvas(
        frames, cx=cx, top=feet - hp, hp=hp, direction=direction, shade=np.clip(light, 0.4, 1.6)
    )
    if mode == "junk":
        person = sample_person(rng) if rng.random() < 0.5 else None
    view = draw_view(camera, rng, view_bias=effects.view_bias)
    if person is not None:
        turn = 1.0 if view == "side" else float(rng.choice([0.0, 0.3]))  # 0 frontal, 1 profile
        phase = rng.uniform(0, 2 * np.pi) + person.cadence * t
        _person_layers(canvas, person, phase, view=turn, back=view == "back")
    if rng.random() < occlusion_prob:
        _occlude(canvas, rng, t)
    return camera_response(canvas.rgb, camera, rng, direction=direction)


def draw_view(camera: Camera, rng: np.random.Generator, *, view_bias: float) -> str:
    """A tracklet's view: the camera's own with probability `view_bias`, else any of `VIEWS`."""
    own, anyone = rng.random(), int(rng.integers(len(VIEWS)))
    return camera.view if own < view_bias else VIEWS[anyone]


def _occlude(canvas: Canvas, rng: np.random.Generator, t: Array) -> None:
    """An object covering part of the box over a run of frames: pole, passer-by or barrier."""
    n, height, width = canvas.rgb.shape[:3]
    x = ((np.arange(width, dtype=np.float32) + 0.5) / width)[None, None, :]
    y = ((np.arange(height, dtype=np.float32) + 0.5) / height)[None, :, None]
    first = int(rng.integers(0, n))
    last = int(rng.integers(first, n)) + 1
    active = (t >= first) & (t < last)
    colour = rng.uniform(0.05, 0.9, 3).astype(np.float32)
    kind = rng.integers(3)
    if kind == 0:  # pole sliding across the box
        x0 = rng.uniform(-0.2, 1.0) + rng.uniform(-0.03, 0.03) * t
        mask = (x > x0) & (x < x0 + rng.uniform(0.1, 0.3)) & (y < 2)
    elif kind == 1:  # passer-by: a body-sized blob moving fast
        x0 = rng.uniform(-0.6, 0.6) + rng.choice([-1, 1]) * 0.12 * (t - first)
        mask = ((x - x0 - 0.5) / 0.28) ** 2 + ((y - 0.6) / 0.55) ** 2 < 1
    else:  # barrier covering the lower part
        mask = (y > rng.uniform(0.6, 0.8)) & (x > rng.uniform(-0.2, 0.5))
    canvas.paint_mask(mask & active, colour)


def camera_response(
    scene: Array, camera: Camera, rng: np.random.Generator, *, direction: float
) -> Array:
    """Optics, colour response, noise and resolution of a camera, `(n, H, W, 3)` uint8.

    In order: lens blur and motion blur (along the walk, `direction`), saturation, a gain per
    channel times a small flicker per frame, clipping, gamma, the brightness offset, sensor
    noise, quantisation, and for a low-resolution camera a downscale and upscale.
    """
    n = scene.shape[0]
    if camera.blur:
        scene = (scene + np.roll(scene, 1, axis=2) + np.roll(scene, 1, axis=1)) / 3
    if camera.motion_blur:
        scene = motion_blur(scene, camera.motion_blur, direction=direction)
    grey = (scene[..., 0] + scene[..., 1] + scene[..., 2])[..., None] * np.float32(1 / 3)
    image = scene * np.float32(camera.saturation) + grey * np.float32(1 - camera.saturation)
    flicker = 1 + 0.03 * rng.standard_normal((n, 1, 1, 1), dtype=np.float32)
    image *= camera.channel_gain.astype(np.float32) * flicker
    np.clip(image, 0, 1, out=image)
    image **= np.float32(camera.gamma)
    image += np.float32(camera.brightness)
    # sensor noise: frames of the camera's noise bank at random shifts
    bank = rng.integers(0, len(camera.noise), n)
    shift = int(rng.integers(0, image.shape[2]))
    image += np.roll(camera.noise[bank], shift, axis=2)
    image *= 255
    image += 0.5
    frames = np.clip(image, 0, 255, out=image).astype(np.uint8)
    return low_resolution(frames, camera.low_res) if camera.low_res < 1 else frames


def motion_blur(frames: Array, length: int, *, direction: float) -> Array:
    """Each pixel averaged with the `length − 1` pixels behind it along the walk (edge pixels
    repeated), `(n, H, W, 3)` float32."""
    trail = (length - 1, 0) if direction > 0 else (0, length - 1)  # behind the walker
    pad = np.pad(frames, ((0, 0), (0, 0), trail, (0, 0)), mode="edge")
    total = np.cumsum(pad, axis=2, dtype=np.float32)
    total = np.concatenate([np.zeros_like(total[:, :, :1]), total], axis=2)
    width = frames.shape[2]
    return (total[:, :, length : length + width] - total[:, :, :width]) / np.float32(length)


def low_resolution(frames: Array, scale: float) -> Array:
    """Frames seen by a low-resolution camera: box-filtered down to `scale` of their size and
    upscaled back bilinearly, `(n, H, W, 3)` uint8."""
    height, width = frames.shape[1:3]
    small = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.stack(
        [
            np.asarray(
                Image.fromarray(f)
                .resize(small, Image.Resampling.BOX)
                .resize((width, height), Image.Resampling.BILINEAR)
            )
            for f in frames
        ]
    )
