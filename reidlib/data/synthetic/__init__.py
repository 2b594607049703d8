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

Modules: `params` (the checked parameter record and each layout's defaults), `streams` (the
named random streams), `people` and `cameras` (what is drawn per identity and per camera),
`shapes`, `body`, `render` and `optics` (drawing and the camera response), `layouts` (the
native folders and info files) and `dataset` (writing, reusing, the manifest).
"""

from reidlib.data.synthetic.cameras import VIEWS, Camera, CameraDraws, build_cameras, sample_camera
from reidlib.data.synthetic.dataset import (
    FORMAT_VERSION,
    GENERATOR,
    MANIFEST,
    ensure_synthetic,
    make_synthetic,
    read_manifest,
)
from reidlib.data.synthetic.params import (
    EFFECTS,
    SYNTHETIC_DEFAULTS,
    Effects,
    SyntheticParams,
    synthetic_params,
)
from reidlib.data.synthetic.people import Person, sample_person
from reidlib.data.synthetic.render import render_through_cameras, render_tracklet
from reidlib.data.synthetic.streams import Stream, random_stream

__all__ = [
    "EFFECTS",
    "FORMAT_VERSION",
    "GENERATOR",
    "MANIFEST",
    "SYNTHETIC_DEFAULTS",
    "VIEWS",
    "Camera",
    "CameraDraws",
    "Effects",
    "Person",
    "Stream",
    "SyntheticParams",
    "build_cameras",
    "ensure_synthetic",
    "make_synthetic",
    "random_stream",
    "read_manifest",
    "render_through_cameras",
    "render_tracklet",
    "sample_camera",
    "sample_person",
    "synthetic_params",
]
