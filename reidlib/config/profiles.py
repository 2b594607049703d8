"""Profiles (`full`: the paper's settings; `quick`: CPU minutes on synthetic data) and presets.

A preset names one row of the paper's Tables I, III, IV or V, or one of the recipe's settings
switched (`reidlib.what_matters`), as overrides of a profile, so every ablation notebook and the
command line build the same configuration from the same name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, get_args

from reidlib.choices import Dataset
from reidlib.config.schema import DataConfig, LossConfig, ModelConfig, RunConfig, TrainConfig

DATASETS: tuple[str, ...] = get_args(Dataset)
PROFILES = ("quick", "full")

# The paper's settings: ImageNet weights (from `model.weights_dir`), fp32 as in every reference
# implementation; channels-last changes no number and speeds up convolutions on GPUs.
FULL = RunConfig(name="full", train=TrainConfig(channels_last=True))

# Synthetic data in the MARS layout at 32×16 (the smallest input IBN-a's instance norms accept),
# the same recipe (losses, warm-up then steps, REA, B = 8 × 4, T = 4) compressed to CPU minutes.
# As in the paper, every run starts from a pre-trained backbone: here the stand-in for ImageNet
# below (`model.init="synthetic"`), fine-tuned for 8 epochs (32 steps) at lr 1e-3, steps at 6
# and 7. Measured on the default data (332 queries; rank-1 / mAP; docs/decisions.md §3): raw
# pixels 5.1 / 3.9, untrained 1.5 / 3.1; from random weights, the former quick profile (16 epochs
# at 2e-3, identity residual blocks) 3.3 / 4.3; from the stand-in, 8 epochs at 1e-3 28.3 / 29.6,
# at 5e-4 27.1 / 30.0; 12 epochs 27.1 / 30.3, 6 epochs 20.2 / 24.7.
QUICK = RunConfig(
    name="quick",
    data=DataConfig(
        root="data/synthetic/mars",
        synthetic=True,
        height=32,
        width=16,
        # a test tracklet is embedded from its first 8 frames (2 clips at T = 4, 1 at T = 8), not
        # all of them: 6,368 frames an evaluation instead of 11,300, for make run's time budget
        # (docs/decisions.md §4, "The quick profile's frame cap")
        test_max_frames=8,
        num_workers=0,
    ),
    model=ModelConfig(init="synthetic"),
    loss=LossConfig(),
    train=TrainConfig(
        epochs=8,
        lr=1e-3,
        milestones=(6, 7),
        # two epochs: the reference form's first epoch then runs at about half the peak rate
        # (with one, k = 1 is already past the warm-up: no ramp at all, docs/decisions.md §3)
        warmup_epochs=2,
        eval_every=8,
        eval_chunk=128,  # 512 frames a forward pass: about 10 % faster than 256 on two cores
        checkpoint_every=8,  # a checkpoint costs about as much as a step here
        # channels-last: layer3-4's batch norms on 2×1 maps are many times faster so, and their
        # 1×1 convolutions become plain matrix products (reidlib.training.cpu_conv; with NCHW,
        # oneDNN's, a step was slower, benchmarks/results/quick_step_cpu.json)
        channels_last=True,
        cpu_im2col=True,  # 32×16 leaves layer3-4 2×1 maps, where oneDNN is slow
    ),
)

# The stand-in for ImageNet (reidlib.training.pretrain): the backbone trained once from random
# weights (identity residual blocks) on synthetic people and cameras that appear in no other
# dataset (seed 1000; the three layouts use seeds 0-2), then exported and loaded by every quick
# run. Like an ImageNet classifier it learns from frames, not clips (T = 1), and each batch holds
# 64 identities × 2 frames: 64 of the 384 identities a step instead of the recipe's 8. Measured
# over 192 steps, each then fine-tuned as QUICK (rank-1 / mAP on the default MARS data): clips,
# 8 × 4 a batch, 7.2 / 10.2 (and 16 fine-tuning epochs at 2e-3); frames, 32 × 4, 20.2 / 22.2
# (26.5 / 29.8 over 288 steps); 64 × 2, 28.3 / 29.6; 128 × 1, 30.7 / 31.0, but one frame per
# identity leaves the ranked list loss no positives. About 1.5 CPU minutes per backbone.
PRETRAIN_DATA: dict[str, Any] = {
    "layout": "mars",
    "seed": 1000,
    "num_ids": 400,
    "train_fraction": 0.96,  # 384 training ids; the 16 test ids only check the pre-training
    "num_cameras": 9,  # more cameras than any target: camera invariance is what transfers
    "length_median": 6,  # a step takes one frame of a tracklet; more frames cost generation
}
PRETRAIN = RunConfig(
    name="pretrain-synthetic",
    data=DataConfig(
        root="runs/synthetic-pretrain",  # generated in <runs_root>/synthetic-pretrain
        synthetic=False,  # generated with PRETRAIN_DATA by reidlib.training.pretrain
        height=32,
        width=16,
        clip_len=1,
        num_ids_per_batch=64,
        num_instances=2,
        num_workers=0,
    ),
    model=ModelConfig(init="random", zero_init_residual=True),
    train=TrainConfig(
        epochs=32,  # 6 batches an epoch: 192 steps
        lr=2e-3,
        milestones=(24, 30),
        warmup_epochs=1,
        eval_every=32,
        eval_chunk=64,
        checkpoint_every=32,
        channels_last=True,  # as QUICK
        cpu_im2col=True,
    ),
)

# Overrides per dataset, on top of a profile (§IV-B: m = 0.04 for PRID2011).
DATASET_OVERRIDES: dict[str, dict[str, dict[str, Any]]] = {
    "mars": {},
    "prid2011": {"data": {"dataset": "prid2011"}, "loss": {"rll_margin": 0.04}},
    "ilidsvid": {"data": {"dataset": "ilidsvid"}},
}

# One entry per row of the paper's ablation tables (docs/decisions.md §7) and per changed
# setting of the recipe (notebook 09).
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
    # Table V, first row: the profile's own initialisation (ImageNet, or the quick profile's
    # stand-in). Its transfer rows are no presets: they start from another run (`table5_chain`).
    "table5_imagenet": {},
    # The claims without a table (reidlib.what_matters.ROWS, notebook 09): the base run with one
    # setting of the recipe changed. The recipe row itself is the base run.
    # §III-A: temporal average pooling instead of the temporal attention of Eq. (1)
    "what_average_pooling": {"model": {"temporal": "average"}},
    # §III-C: Eq. (12) as printed (softmax weights a_t, 1/T) instead of the code's form
    "what_eatt_paper": {"loss": {"eatt_form": "paper"}},
    # §III-C: no erasing-attention loss (random erasing still on)
    "what_eatt_off": {"loss": {"erasing_weight": 0.0}},
    # §III-B: ranked list and center loss on the feature before BNNeck, as Luo et al. [18]
    "what_dml_pre_bnneck": {"loss": {"dml_feature": "pre_bnneck"}},
    # contribution 2: no random erasing; no frame is erased, so E_att is 0 as well
    "what_rea_off": {"data": {"random_erasing": False}},
    # contribution 2: Eq. (2) without its warm-up ramp (the quick profile's two warm-up epochs:
    # its first at about half the peak rate, docs/decisions.md §3)
    "what_warmup_off": {"train": {"warmup_epochs": 0}},
    # §III-C: β = 0 in Eq. (13); the centers are not trained
    "what_center_off": {"loss": {"center_weight": 0.0}},
}

# The rows of Tables I, III and IV (their names in `reidlib.paper`) and the preset that trains
# each: what notebooks 03-05 run and what `benchmarks/full_cost.py` counts. Table V's rows are
# chains of runs, `TABLE5_SOURCES`.
TABLE_ROWS: dict[str, dict[str, str]] = {
    "I": {"resnet50": "table1_resnet50", "resnet50_ibn_a": "table1_resnet50_ibn_a"},
    "III": {"T=4": "table3_t4", "T=8": "table3_t8"},
    "IV": {
        "B=32 (C=8, K=4)": "table4_b32",
        "B=36 (C=6, K=6)": "table4_b36",
        "B=48 (C=6, K=8)": "table4_b48",
    },
}

# Table V: the datasets each row trains on before its target, in order (docs/decisions.md §6).
# Every link trains the profile's base run on its dataset, starting from the previous link's
# last checkpoint (`train.init_checkpoint`); the first link starts as the profile does.
TABLE5_SOURCES: dict[str, tuple[str, ...]] = {
    "ImageNet": (),
    "MARS": ("mars",),
    "MARS + iLIDS-VID": ("mars", "ilidsvid"),
}
TABLE5_TARGETS = ("prid2011", "ilidsvid")  # the columns notebook 06 reruns (MARS's is 02's run)
TRANSFER_HINT = (
    "Table V's transfer rows are no presets: train the source run, then start from its "
    "checkpoint with --init-checkpoint PATH (train.init_checkpoint; reidlib.config.table5_chain)"
)


def table5_chain(row: str, target: str) -> tuple[str, ...]:
    """The datasets Table V's `row` trains on for its `target` column, the target last:
    `("prid2011",)` for ImageNet, `("mars", "prid2011")` for MARS,
    `("mars", "ilidsvid", "prid2011")` for MARS + iLIDS-VID.

    Raises:
        ValueError: an unknown row or dataset, or a cell whose chain the paper leaves open
            (MARS on MARS; MARS + iLIDS-VID on MARS or iLIDS-VID).
    """
    if row not in TABLE5_SOURCES:
        raise ValueError(f"Unknown Table V row {row!r}: must be one of {list(TABLE5_SOURCES)}")
    if target not in DATASETS:
        raise ValueError(f"Unknown dataset {target!r}: must be one of {DATASETS}")
    chain = (*TABLE5_SOURCES[row], target)
    if len(set(chain)) != len(chain):
        raise ValueError(
            f"Table V row {row!r} on {target!r}: the paper does not say what this cell trains "
            f"(the row trains on {' -> '.join(TABLE5_SOURCES[row])} before its target)"
        )
    return chain


# Every (row, target) notebook 06 reruns, by target: three chains on PRID2011, two on iLIDS-VID.
TABLE5_CELLS: tuple[tuple[str, str], ...] = tuple(
    (row, target)
    for target in TABLE5_TARGETS
    for row, sources in TABLE5_SOURCES.items()
    if target not in sources
)


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
        preset: a key of `PRESETS` (a row of Table I, III, IV or V, or of
            `reidlib.what_matters.ROWS`), or None. Every row trains with its profile's
            schedule, so a table's base row is the base run.
    """
    if profile not in PROFILES:
        raise ValueError(f"Unknown profile {profile!r}: must be one of {PROFILES}")
    if dataset not in DATASETS:
        raise ValueError(f"Unknown dataset {dataset!r}: must be one of {DATASETS}")
    if preset is not None and preset not in PRESETS:
        hint = f"; {TRANSFER_HINT}" if preset.startswith("table5_") else ""
        raise ValueError(f"Unknown preset {preset!r}: must be one of {sorted(PRESETS)}{hint}")
    base = QUICK if profile == "quick" else FULL
    root = f"data/synthetic/{dataset}" if profile == "quick" else f"data/{dataset}"
    overrides = _merge(
        DATASET_OVERRIDES[dataset],
        {"data": {"root": root}},
        PRESETS.get(preset or "", {}),
    )
    name = "-".join(x for x in (profile, dataset, preset) if x)
    return replace(base.with_overrides(**overrides), name=name)


NUM_SPLITS = 10  # PRID2011 and iLIDS-VID come with 10 train/test splits; MARS has one


def has_splits(dataset: str) -> bool:
    """Whether `dataset` comes with train/test splits (PRID2011, iLIDS-VID: splits 0-9) rather
    than one fixed split (MARS)."""
    if dataset not in DATASETS:
        raise ValueError(f"Unknown dataset {dataset!r}: must be one of {DATASETS}")
    return dataset != "mars"


def splits_for(dataset: str, splits: Sequence[int]) -> tuple[int, ...]:
    """The splits runs on `dataset` use: `splits` for PRID2011 and iLIDS-VID, MARS's one (0)."""
    return tuple(splits) if has_splits(dataset) else (0,)


def _parse_ids(text: str, *, name: str, what: str, below: int) -> tuple[int, ...]:
    """`"0"`, `"0-9"` or `"0,3,5"` -> distinct ids in `[0, below)`, in the order given.

    Raises:
        ValueError: anything else, naming the text and the expected form.
    """
    ids: list[int] = []
    try:
        for part in text.split(","):
            low, _, high = part.strip().partition("-")
            ids += range(int(low), int(high or low) + 1)
    except ValueError:
        ids = []
    if not ids or len(set(ids)) != len(ids) or not all(0 <= i < below for i in ids):
        raise ValueError(
            f"{name} {text!r}: expected {what} between 0 and {below - 1} such as "
            "'0', '0-9' or '0,3,5', each once"
        )
    return tuple(ids)


def parse_splits(text: str) -> tuple[int, ...]:
    """`"0"`, `"0-9"` or `"0,3,5"` -> the split ids (PRID2011 and iLIDS-VID have splits 0-9).

    Raises:
        ValueError: anything else, naming the text and the expected form.
    """
    return _parse_ids(text, name="splits", what="split ids", below=NUM_SPLITS)


MAX_SEED = 2**31  # a training seed is any non-negative 32-bit int (`torch.manual_seed`)


def parse_seeds(text: str) -> tuple[int, ...]:
    """`"0"`, `"0-4"` or `"0,7"` -> the training seeds: every row is trained once per seed.

    Raises:
        ValueError: anything else, naming the text and the expected form.
    """
    return _parse_ids(text, name="seeds", what="seeds", below=MAX_SEED)
