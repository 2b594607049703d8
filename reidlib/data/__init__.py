"""Data layer: dataset loaders, synthetic data, clip sampling, transforms and samplers."""

from reidlib.data.base import VideoReIDDataset
from reidlib.data.check import DataCheck, FrameProblem, check_dataset, check_frame
from reidlib.data.clip_dataset import TrackletDataset, TrackletFrames, VideoDataset, load_clip
from reidlib.data.errors import DatasetError, FrameReadError
from reidlib.data.factory import DATASETS, build_dataset, load_synthetic
from reidlib.data.frames import (
    FRAME_SAMPLERS,
    dense_clip_indices,
    random_consecutive_indices,
    restricted_random_indices,
    sample_frame_indices,
)
from reidlib.data.ilidsvid import ILIDSVID
from reidlib.data.io import read_frame
from reidlib.data.mars import Mars
from reidlib.data.prid2011 import PRID2011
from reidlib.data.sampler import RandomIdentitySampler
from reidlib.data.synthetic import (
    SYNTHETIC_DEFAULTS,
    SyntheticParams,
    ensure_synthetic,
    make_synthetic,
    read_manifest,
    render_through_cameras,
    synthetic_params,
)
from reidlib.data.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    RandomErasingWithFlag,
    TrainTransform,
    build_test_transform,
    build_train_transform,
    denormalize,
)
from reidlib.types import Tracklet

__all__ = [
    "DATASETS",
    "FRAME_SAMPLERS",
    "ILIDSVID",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "PRID2011",
    "SYNTHETIC_DEFAULTS",
    "DataCheck",
    "DatasetError",
    "FrameProblem",
    "FrameReadError",
    "Mars",
    "RandomErasingWithFlag",
    "RandomIdentitySampler",
    "SyntheticParams",
    "Tracklet",
    "TrackletDataset",
    "TrackletFrames",
    "TrainTransform",
    "VideoDataset",
    "VideoReIDDataset",
    "build_dataset",
    "build_test_transform",
    "build_train_transform",
    "check_dataset",
    "check_frame",
    "denormalize",
    "dense_clip_indices",
    "ensure_synthetic",
    "load_clip",
    "load_synthetic",
    "make_synthetic",
    "random_consecutive_indices",
    "read_frame",
    "read_manifest",
    "render_through_cameras",
    "restricted_random_indices",
    "sample_frame_indices",
    "synthetic_params",
]
