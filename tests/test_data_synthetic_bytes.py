"""The synthetic generator writes the same datasets, byte for byte, as when these references were
recorded: for each layout a small dataset's manifest (`tests/synthetic_reference/small-*.json`),
a SHA-256 of its frames and one of its info and split files; the pixels `render_through_cameras`
returns; and the default layouts' parameters, counts and cameras (`default-*.json`), checked
without rendering their frames.

The frame digests also depend on the image encoders (Pillow's PNG and JPEG writers) and the info
digests on scipy's MAT writer, at the versions of requirements.txt; the pixel digests depend on
numpy alone.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from reidlib.data import make_synthetic, render_through_cameras, synthetic_params
from reidlib.data.synthetic import build_cameras
from reidlib.data.synthetic.layouts import plan_layout

REFERENCE = Path(__file__).parent / "synthetic_reference"
FRAMES = {".jpg", ".png"}
SMALL = {  # every camera effect occurs: lens and motion blur, low resolution, all three sides
    "mars": {"num_ids": 8, "seed": 3, "image_size": (32, 16), "length_median": 4},
    "prid2011": {"num_ids": 6, "seed": 2, "image_size": (32, 16), "length_median": 6},
    "ilidsvid": {"num_ids": 6, "seed": 4, "image_size": (32, 16), "length_median": 6},
}
DIGESTS = {  # SHA-256 of (relative path, NUL, bytes) of the frames, then of the other files
    "mars": (
        "b523196460fb1a448fde676ce640d70b66cfee3c8b920a36122c7aea282bcd78",
        "6578da89581e04e3140f68adf6c3dda1ed1adc2661ac83f33e985d5747b7050a",
    ),
    "prid2011": (
        "95bd1ccdbcc88858776101ae035e8bfba173a87bb8ae11d62ecbd37ee39c2a42",
        "b69a1914ffc9f56d344cdbd5438322be3096bc3b6a85eb744a75ad44991ad7c3",
    ),
    "ilidsvid": (
        "94069c3cfae0a6b0e37bf3658a6f1c13b4c6d9f98142b5e4bc69d11f817cb8a8",
        "2c78ae3542165dc3364909101fd9d52b42d2a450b75b3cf0c2a884de53d41f8a",
    ),
}
VIEWS = {  # SHA-256 of render_through_cameras(layout, num_people=2, num_frames=4, **SMALL[layout])
    "mars": "8def74034f366752eee3f9196f40e7393ff25bfa0eafd9bf202e565370b6f672",
    "prid2011": "495276d6c972825903bfd98deb69787d1a90611345d0727281491672fb6f6eeb",
    "ilidsvid": "be2965b49aa92a7d206a40acdf54997992df4b4219eb46b9f4abd92a21d6d418",
}


def digest(root: Path, *, frames: bool) -> str:
    """SHA-256 over the sorted frames (or the other files, manifest aside) under `root`."""
    sha = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name != "synthetic.json" and (path.suffix in FRAMES) == frames:
            sha.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return sha.hexdigest()


@pytest.mark.parametrize("layout", list(SMALL))
def test_a_small_dataset_is_written_byte_for_byte_as_recorded(tmp_path, layout):
    root = make_synthetic(tmp_path / layout, layout=layout, progress=False, **SMALL[layout])
    reference = REFERENCE / f"small-{layout}.json"
    assert json.loads((root / "synthetic.json").read_text()) == json.loads(reference.read_text())
    assert (root / "synthetic.json").read_bytes() == reference.read_bytes()
    assert (digest(root, frames=True), digest(root, frames=False)) == DIGESTS[layout]


@pytest.mark.parametrize("layout", list(SMALL))
def test_the_camera_views_are_the_recorded_pixels(layout):
    views = render_through_cameras(layout, num_people=2, num_frames=4, **SMALL[layout])
    assert views.dtype == np.uint8 and views.shape[:2] == (2, 6 if layout == "mars" else 2)
    assert hashlib.sha256(views.tobytes()).hexdigest() == VIEWS[layout]


@pytest.mark.parametrize("layout", list(SMALL))
def test_the_default_layouts_plan_and_cameras_are_as_recorded(tmp_path, layout):
    """The parts of the default manifests that need no rendering."""
    reference = json.loads((REFERENCE / f"default-{layout}.json").read_text())
    params = synthetic_params(layout)
    assert params.as_manifest() == reference["params"]
    _, counts = plan_layout(tmp_path, params=params)
    assert counts == reference["counts"]
    cameras = [{"camid": c, **camera.describe()} for c, camera in enumerate(build_cameras(params))]
    assert cameras == reference["cameras"]
