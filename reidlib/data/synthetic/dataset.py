"""Writing a synthetic dataset: safely (complete or not at all), once, and with its manifest.

The manifest `synthetic.json` records the generator, its format, the layout, the parameters
(`SyntheticParams.as_manifest`), the counts the loaders should find and the values each camera
drew (`Camera.describe`).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from PIL import Image

from reidlib.data.synthetic.cameras import build_cameras
from reidlib.data.synthetic.layouts import plan_layout
from reidlib.data.synthetic.params import SyntheticParams, synthetic_params
from reidlib.data.synthetic.people import Person, sample_person
from reidlib.data.synthetic.render import render_tracklet
from reidlib.data.synthetic.streams import Stream, random_stream
from reidlib.progress import progress_bar

MANIFEST = "synthetic.json"
GENERATOR = "reidlib.data.synthetic"  # the manifest's "generator"
FORMAT_VERSION = 2  # 2: camera and detector effects (`Effects`), per-camera values recorded


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
        num_ids: people (MARS: train and test; PRID: people seen by both cameras).
        num_cameras: cameras (2 for PRID2011 and iLIDS-VID).
        seed: fixes every byte written.
        image_size: `(H, W)` of the frames.
        progress: show a progress bar.
        **layout_params: other parameters of `SYNTHETIC_DEFAULTS[layout]` (e.g.
            `length_median`, `occlusion_prob`, `junk_fraction`); `None` or absent means the
            default.

    Returns:
        `root`. The folder appears complete or not at all: it is written beside `root` first,
        then renamed.

    Raises:
        ValueError: a parameter out of range (`SyntheticParams`).
        FileExistsError: `root` is a file or a folder that is not empty.
    """
    params = synthetic_params(
        layout,
        num_ids=num_ids,
        num_cameras=num_cameras,
        seed=seed,
        image_size=image_size,
        **layout_params,
    )
    return _write(Path(root), params, progress=progress)


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
            return _write(root, wanted, progress=progress)
        except OSError:  # another process finished the same folder first
            manifest = read_manifest(root)
            if manifest is None:
                raise
    found = {
        "layout": manifest.get("layout"),
        "params": manifest.get("params"),
        "format_version": manifest.get("format_version"),
    }
    recorded = wanted.as_manifest()
    expected = {"layout": layout, "params": recorded, "format_version": FORMAT_VERSION}
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
            for k in recorded
            if (found["params"] or {}).get(k) != recorded[k]
        }
        raise FileExistsError(
            f"{root / MANIFEST}: holds a {found['layout']} dataset (format "
            f"{found['format_version']}) whose parameters differ from the requested {layout} "
            f"one {diff}; it is left untouched (choose another root or matching parameters)"
        )
    return root


def read_manifest(root: Path) -> dict[str, Any] | None:
    """The manifest of a synthetic dataset, or `None` when `root` has none."""
    path = Path(root) / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else None


def _write(root: Path, params: SyntheticParams, *, progress: bool) -> Path:
    """Generates the dataset of `params` beside `root`, then renames it to `root`."""
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise FileExistsError(
            f"{root}: already exists and is not empty; synthetic data is only "
            "written to a new or empty folder"
        )
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = root.parent / f".{root.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()  # unique name; permissions follow the umask, as for any new folder
    try:
        _generate(staging, params, progress=progress)
        os.rename(staging, root)  # atomic; also replaces an empty folder
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # only the staging folder made above
        raise
    return root


def _generate(root: Path, params: SyntheticParams, *, progress: bool) -> None:
    """Plans, renders and writes every tracklet, then the manifest."""
    plan, counts = plan_layout(root, params=params)
    cameras = build_cameras(params)
    people: dict[int, Person] = {}
    bar = progress_bar(plan, desc=f"synthetic {params.layout}", disable=not progress)
    for index, item in enumerate(bar):
        if item.mode != "junk" and item.person_key not in people:
            people[item.person_key] = sample_person(
                random_stream(params.seed, Stream.PEOPLE, item.person_key)
            )
        camera = cameras[item.camid]
        frames = render_tracklet(
            people.get(item.person_key),
            camera,
            num_frames=len(item.names),
            rng=random_stream(params.seed, Stream.TRACKLETS, index),
            occlusion_prob=params.occlusion_prob,
            effects=params,
            mode=item.mode,
        )
        folder = root / item.folder
        folder.mkdir(parents=True, exist_ok=True)
        for name, frame in zip(item.names, frames):
            image = Image.fromarray(frame)
            if name.endswith(".jpg"):
                image.save(folder / name, quality=camera.jpeg_quality)
            else:
                image.save(folder / name, compress_level=1)
    manifest = {
        "generator": GENERATOR,
        "format_version": FORMAT_VERSION,
        "layout": params.layout,
        "params": params.as_manifest(),
        "counts": counts,
        "cameras": [{"camid": c, **camera.describe()} for c, camera in enumerate(cameras)],
    }
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
