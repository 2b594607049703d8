"""Synthetic datasets written in the real datasets' native layouts.

`make_synthetic(root, layout="mars")` renders walking people seen by several cameras and
writes real frames (JPEG for MARS, PNG for PRID2011 and iLIDS-VID) and real info/split files,
so `Mars(root)`, `PRID2011(root)` and `ILIDSVID(root)` read it unchanged. Identity cues
(clothing colours and patterns, hair, bags, proportions, gait) stay fixed per person, while each
camera has its own colour response (a gain per channel, gamma, brightness), saturation, noise,
lens and motion blur, resolution, background, box tightness and the side it mostly sees people
from (front, back or side, which changes what shows: a backpack, a logo, an open jacket), and
tracklets add walking motion, box offsets, detector jitter and partial occlusions (`EFFECTS`).
So a person's raw pixels differ between cameras about as much as two people's do, as on the real
datasets, and matching has to be learned. The same parameters give the same bytes. A manifest
`synthetic.json` records the parameters, the values each camera drew, and the counts the loaders
should find.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from reidlib.data.synthetic_layouts import mars_train_ids, plan_layout
from reidlib.data.synthetic_render import render_tracklet
from reidlib.data.synthetic_scene import VIEWS, Camera, Effects, sample_camera, sample_person
from reidlib.progress import progress_bar

MANIFEST = "synthetic.json"
GENERATOR = "reidlib.data.synthetic"  # the manifest's "generator"
FORMAT_VERSION = 2  # 2: camera and detector effects (`Effects`), per-camera values recorded
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


def synthetic_params(layout: str = "mars", **overrides: Any) -> dict[str, Any]:
    """The layout's defaults updated with `overrides`, checked and JSON-ready."""
    if layout not in SYNTHETIC_DEFAULTS:
        raise ValueError(f"Unknown layout {layout!r}: must be one of {sorted(SYNTHETIC_DEFAULTS)}")
    unknown = sorted(set(overrides) - set(SYNTHETIC_DEFAULTS[layout]))
    if unknown:
        raise TypeError(
            f"{layout!r} layout has no parameter(s) {unknown}; "
            f"known: {sorted(SYNTHETIC_DEFAULTS[layout])}"
        )
    params = {**SYNTHETIC_DEFAULTS[layout], **{k: v for k, v in overrides.items() if v is not None}}
    params = json.loads(json.dumps(params))  # tuples -> lists, as stored in the manifest
    cameras, num_ids = params["num_cameras"], params["num_ids"]
    if layout != "mars" and cameras != 2:
        raise ValueError(f"the {layout} layout has exactly 2 cameras, got num_cameras={cameras}")
    if not 2 <= cameras <= 9:
        raise ValueError(f"num_cameras must be 2..9 (MARS names hold one digit), got {cameras}")
    if num_ids < 4:
        raise ValueError(f"num_ids must be >= 4 (two train and two test ids), got {num_ids}")
    if layout == "mars" and not 2 <= mars_train_ids(params) <= num_ids - 2:
        raise ValueError(
            f"train_fraction={params['train_fraction']} of num_ids={num_ids} leaves "
            f"{mars_train_ids(params)} training ids; at least two train and two test ids needed"
        )
    low, high = params["length_range"]
    if not 1 <= low <= high <= 999:
        raise ValueError(f"length_range must satisfy 1 <= low <= high <= 999, got {low, high}")
    return params


def make_synthetic(
    root: Path,
    *,
    layout: str = "mars",
    num_ids: int | None = None,
    num_cameras: int | None = None,
    seed: int | None = None,
    image_size: tuple[int, int] | None = None,
    progress: bool = True,
    **layout_params: Any,
) -> Path:
    """Generates a synthetic dataset at `root` in a real dataset's layout.

    Args:
        root: where to write; must not exist yet or be an empty folder.
        layout: "mars", "prid2011" or "ilidsvid".
        num_ids: people (MARS: half train, half test; PRID: people seen by both cameras).
        num_cameras: cameras (2 for PRID2011 and iLIDS-VID).
        seed: fixes every byte written.
        image_size: `(H, W)` of the frames.
        progress: show a progress bar.
        **layout_params: other keys of `SYNTHETIC_DEFAULTS[layout]` (e.g. `length_median`,
            `occlusion_prob`, `junk_fraction`); `None` or absent means the default.

    Returns:
        `root`. The folder appears complete or not at all: it is written beside `root` first,
        then renamed.
    """
    root = Path(root)
    params = synthetic_params(
        layout,
        num_ids=num_ids,
        num_cameras=num_cameras,
        seed=seed,
        image_size=image_size,
        **layout_params,
    )
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise FileExistsError(
            f"{root}: already exists and is not empty; synthetic data is only "
            "written to a new or empty folder"
        )
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = root.parent / f".{root.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()  # unique name; permissions follow the umask, as for any new folder
    try:
        _generate(staging, layout=layout, params=params, progress=progress)
        os.rename(staging, root)  # atomic; also replaces an empty folder
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # only the staging folder made above
        raise
    return root


def ensure_synthetic(
    root: Path, *, layout: str = "mars", progress: bool = True, **params: Any
) -> Path:
    """Generates the dataset at `root` unless the same one is already there.

    Reuses `root` when its manifest records the same layout and parameters; generates when
    `root` is missing or empty. Never deletes or overwrites anything.

    Raises:
        FileExistsError: `root` holds other content or a dataset made with other parameters.
    """
    root = Path(root)
    wanted = synthetic_params(layout, **params)
    manifest = read_manifest(root)
    if manifest is None and root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise FileExistsError(
            f"{root}: exists without {MANIFEST}; not a synthetic dataset, "
            "so it is left untouched (choose another root)"
        )
    if manifest is None:
        try:
            return make_synthetic(root, layout=layout, progress=progress, **wanted)
        except OSError:  # another process finished the same folder first
            manifest = read_manifest(root)
            if manifest is None:
                raise
    found = {
        "layout": manifest.get("layout"),
        "params": manifest.get("params"),
        "format_version": manifest.get("format_version"),
    }
    expected = {"layout": layout, "params": wanted, "format_version": FORMAT_VERSION}
    older = manifest.get("generator") == GENERATOR and found["format_version"] != FORMAT_VERSION
    if older and found["layout"] == layout:
        raise FileExistsError(
            f"{root / MANIFEST}: a {layout} dataset from an earlier reidlib generator (format "
            f"{found['format_version']}, now {FORMAT_VERSION}); it is left untouched: remove "
            f"{root} and it is generated again"
        )
    if found != expected:
        diff = {
            k: (found["params"] or {}).get(k)
            for k in wanted
            if (found["params"] or {}).get(k) != wanted[k]
        }
        raise FileExistsError(
            f"{root / MANIFEST}: holds a {found['layout']} dataset (format "
            f"{found['format_version']}) whose parameters differ from the requested {layout} "
            f"one {diff}; it is left untouched (choose another root or matching parameters)"
        )
    return root


def build_cameras(params: dict[str, Any]) -> list[Camera]:
    """The cameras of a layout's parameters (`synthetic_params`), drawn from its seed: the
    same cameras every time, the three views (`VIEWS`) given in turn."""
    seed, effects = params["seed"], Effects.from_params(params)
    first_view = int(np.random.default_rng([seed, 2]).integers(len(VIEWS)))
    return [
        sample_camera(
            np.random.default_rng([seed, 2, c]),
            image_size=tuple(params["image_size"]),
            effects=effects,
            view=VIEWS[(first_view + c) % len(VIEWS)],
        )
        for c in range(params["num_cameras"])
    ]


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
    seed, effects = params["seed"], Effects.from_params(params)
    cameras = build_cameras(params)
    rows = []
    for key in range(1, num_people + 1):  # key 0 is no one; distractors have keys of their own
        person = sample_person(np.random.default_rng([seed, 1, key]))
        walks = [
            render_tracklet(
                person,
                camera,
                num_frames=num_frames,
                rng=np.random.default_rng([seed, 4, key, c]),
                occlusion_prob=0.0,
                effects=effects,
            )
            for c, camera in enumerate(cameras)
        ]
        rows.append(np.stack([walk[num_frames // 2] for walk in walks]))
    return np.stack(rows)


def read_manifest(root: Path) -> dict[str, Any] | None:
    """The manifest of a synthetic dataset, or `None` when `root` has none."""
    path = Path(root) / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else None


def _generate(root: Path, *, layout: str, params: dict[str, Any], progress: bool) -> None:
    """Plans, renders and writes every tracklet, then the manifest."""
    seed = params["seed"]
    plan, counts = plan_layout(root, layout=layout, params=params)
    effects = Effects.from_params(params)
    cameras = build_cameras(params)
    people: dict[int, Any] = {}
    for index, item in enumerate(progress_bar(plan, desc=f"synthetic {layout}", disable=not progress)):
        if item.mode != "junk" and item.person_key not in people:
            key_rng = np.random.default_rng([seed, 1, item.person_key])
            people[item.person_key] = sample_person(key_rng)
        frames = render_tracklet(
            people.get(item.person_key),
            cameras[item.camid],
            num_frames=len(item.names),
            rng=np.random.default_rng([seed, 3, index]),
            occlusion_prob=params["occlusion_prob"],
            effects=effects,
            mode=item.mode,
        )
        folder = root / item.folder
        folder.mkdir(parents=True, exist_ok=True)
        camera = cameras[item.camid]
        for name, frame in zip(item.names, frames):
            image = Image.fromarray(frame)
            if name.endswith(".jpg"):
                image.save(folder / name, quality=camera.jpeg_quality)
            else:
                image.save(folder / name, compress_level=1)
    manifest = {
        "generator": GENERATOR,
        "format_version": FORMAT_VERSION,
        "layout": layout,
        "params": params,
        "counts": counts,
        "cameras": [{"camid": c, **camera.describe()} for c, camera in enumerate(cameras)],
    }
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
