"""Configuration: the paper's settings as frozen dataclasses, profiles and table presets."""

from reidlib.config.profiles import (
    DATASETS,
    FULL,
    PRESETS,
    PROFILES,
    QUICK,
    TABLE5_CELLS,
    TABLE5_SOURCES,
    TABLE_ROWS,
    has_splits,
    load_profile,
    parse_seeds,
    parse_splits,
    splits_for,
    table5_chain,
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
    "TABLE5_CELLS",
    "TABLE5_SOURCES",
    "TABLE_ROWS",
    "DataConfig",
    "LossConfig",
    "ModelConfig",
    "RunConfig",
    "TrainConfig",
    "config_diff",
    "has_splits",
    "load_profile",
    "parse_seeds",
    "parse_splits",
    "resolve_weights",
    "splits_for",
    "table5_chain",
]
