"""Profiles (`full`: the paper's settings; `quick`: CPU minutes on synthetic data) and presets.

A preset names one row of the paper's Tables I, III, IV or V as overrides of a profile, so every
ablation notebook and the command line build the same configuration from the same name.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from reidlib.config.schema import DataConfig, LossConfig, ModelConfig, RunConfig, TrainConfig

DATASETS = ("mars", "prid2011", "ilidsvid")
PROFILES = ("quick", "full")

FULL = RunConfig(
    name="full",
    train=TrainConfig(bf16=True, channels_last=True),  # CUDA speed-ups; no effect on CPU
)

# Synthetic data in the MARS layout at 32×16 (the smallest input IBN-a's instance norms accept),
# the same recipe (losses, warm-up then steps, REA, B = 8 × 4, T = 4) compressed to a couple of
# CPU minutes per run. Random initialisation (no ImageNet file can be downloaded) needs two
# changes to learn in ~60 steps: residual blocks that start as the identity, and lr 1e-3.
QUICK = RunConfig(
    name="quick",
    data=DataConfig(root="data/synthetic/mars", synthetic=True, height=32, width=16, num_workers=0),
    model=ModelConfig(zero_init_residual=True),
    loss=LossConfig(),
    train=TrainConfig(
        epochs=12,
        lr=1e-3,
        milestones=(8, 11),
        warmup_epochs=2,
        eval_every=6,
        eval_chunk=64,
        channels_last=True,  # ~10 % faster convolutions on this CPU too
    ),
)

# Overrides per dataset, on top of a profile (§IV-B: m = 0.04 for PRID2011).
DATASET_OVERRIDES: dict[str, dict[str, dict[str, Any]]] = {
    "mars": {},
    "prid2011": {"data": {"dataset": "prid2011"}, "loss": {"rll_margin": 0.04}},
    "ilidsvid": {"data": {"dataset": "ilidsvid"}},
}

# One entry per row of the paper's ablation tables (REFERENCE.md §7).
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    # Table I: frame feature extractor
    "table1_resnet50": {"model": {"backbone": "resnet50"}},
    "table1_resnet50_ibn_a": {},
    # Table III: clip length
    "table3_t4": {},
    "table3_t8": {"data": {"clip_len": 8}},
    # Table IV: batch size B = C × K
    "table4_b32": {},
    "table4_b36": {"data": {"num_ids_per_batch": 6, "num_instances": 6}},
    "table4_b48": {"data": {"num_ids_per_batch": 6, "num_instances": 8}},
    # Table V: initialisation (the checkpoint path is set by whoever runs the chain)
    "table5_imagenet": {},
    "table5_mars": {},
    "table5_mars_ilidsvid": {},
}


def _merge(*overrides: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for override in overrides:
        for section, values in override.items():
            merged.setdefault(section, {}).update(values)
    return merged


def load_profile(profile: str, *, dataset: str = "mars", preset: str | None = None) -> RunConfig:
    """The configuration of one run: a profile, a dataset and optionally a table preset.

    In the quick profile every dataset is synthetic, generated under `data/synthetic/<dataset>`.

    Args:
        profile: `"quick"` or `"full"`.
        dataset: `"mars"`, `"prid2011"` or `"ilidsvid"`.
        preset: a key of `PRESETS` (a row of Table I, III, IV or V), or None.
    """
    if profile not in PROFILES:
        raise ValueError(f"Unknown profile {profile!r}: must be one of {PROFILES}")
    if dataset not in DATASETS:
        raise ValueError(f"Unknown dataset {dataset!r}: must be one of {DATASETS}")
    if preset is not None and preset not in PRESETS:
        raise ValueError(f"Unknown preset {preset!r}: must be one of {sorted(PRESETS)}")
    base = QUICK if profile == "quick" else FULL
    root = f"data/synthetic/{dataset}" if profile == "quick" else f"data/{dataset}"
    overrides = _merge(
        DATASET_OVERRIDES[dataset], {"data": {"root": root}}, PRESETS.get(preset or "", {})
    )
    name = "-".join(x for x in (profile, dataset, preset) if x)
    return replace(base.with_overrides(**overrides), name=name)
