"""Renders tracklets: a person walking past a camera, then the camera's response.

A tracklet is seen from the front, the back or the side, mostly from its camera's side
(`Effects.view_bias`); its box follows the walker with a per-tracklet offset and per-frame
jitter, and an occluder may cross it. Then the camera's optics and colour response apply
(`optics.camera_response`): blur and motion blur, per-channel gains, gamma, a brightness offset,
sensor noise and, for a low-resolution camera, rendering small and upscaling.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reidlib.data.synthetic.body import draw_person
from reidlib.data.synthetic.cameras import PANORAMA, VIEWS, Camera, build_cameras
from reidlib.data.synthetic.optics import camera_response
from reidlib.data.synthetic.params import Effects, synthetic_params
from reidlib.data.synthetic.people import Person, sample_person
from reidlib.data.synthetic.shapes import Array, Canvas
from reidlib.data.synthetic.streams import Stream, random_stream


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
        draw_person(canvas, person, phase, view=turn, back=view == "back")
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


def render_through_cameras(
    layout: str = "mars", *, num_people: int = 4, num_frames: int = 8, **overrides: Any
) -> np.ndarray:
    """The layout's people with person keys 1 to `num_people` (MARS's pids 1 to `num_people`,
    PRID2011's first persons) walking past each of its cameras, with no occluder: what the
    camera and detector effects alone do to the same person.

    Args:
        layout: `"mars"`, `"prid2011"` or `"ilidsvid"`.
        num_people: rows.
        num_frames: length of each rendered walk; its middle frame is returned.
        **overrides: layout parameters, as for `make_synthetic` (the same cameras and people
            as the dataset those parameters generate).

    Returns:
        `(num_people, num_cameras, H, W, 3)` uint8 frames.
    """
    params = synthetic_params(layout, **overrides)
    cameras = build_cameras(params)
    rows = []
    for key in range(1, num_people + 1):  # key 0 is no one; distractors have keys of their own
        person = sample_person(random_stream(params.seed, Stream.PEOPLE, key))
        walks = [
            render_tracklet(
                person,
                camera,
                num_frames=num_frames,
                rng=random_stream(params.seed, Stream.CAMERA_VIEWS, key, c),
                occlusion_prob=0.0,
                effects=params,
            )
            for c, camera in enumerate(cameras)
        ]
        rows.append(np.stack([walk[num_frames // 2] for walk in walks]))
    return np.stack(rows)
