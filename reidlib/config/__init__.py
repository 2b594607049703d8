"""Configuration: the paper's settings as frozen dataclasses, profiles and table presets."""

from reidlib.config.profiles import (
    DATASETS,
    FULL,
    PRESETS,
    PROFILES,
    QUICK,
    TABLE_ROWS,
    load_profile,
    parse_splits,
)
from reidlib.config.schema import (
    DataConfig,
    LossConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
    config_diff,
)
from reidlib.config.weights import IMAGENET_FILES, resolve_weights

__all__ = [
    "DATASETS",
    "FULL",
    "IMAGENET_FILES",
    "PRESETS",
    "PROFILES",
    "QUICK",
    "TABLE_ROWS",
    "DataConfig",
    "LossConfig",
    "ModelConfig",
    "RunConfig",
    "TrainConfig",
    "config_diff",
    "load_profile",
    "parse_splits",
    "resolve_weights",
]
