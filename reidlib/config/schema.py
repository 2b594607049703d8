"""Run configuration: frozen dataclasses whose defaults are the paper's settings.

Every default is the value the decision record (docs/decisions.md) resolves from the paper and
the reference code; where the two disagree, the comment names both. Each setting is checked
against its type when a configuration is built (a number, a flag, one of the named choices of
`reidlib.choices`, a range), so a bad value fails at once with a message naming the setting,
the value and what was expected.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import types
import typing
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import PurePath
from typing import Any, ClassVar, Literal

from reidlib.choices import (
    Backbone,
    CenterReduction,
    Dataset,
    DmlFeature,
    EattForm,
    Eq1Form,
    Init,
    Precision,
    RLLVariant,
    Sampling,
    ScheduleForm,
    SmoothingK,
    Temporal,
)


def _expected(hint: Any) -> str:
    """How an annotation reads in an error message."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_expected(a) for a in args)
    if origin is tuple:
        return "a list of integers, e.g. [40, 70]"
    if hint is type(None):
        return "None"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}[hint]


def _coerce(value: Any, hint: Any, name: str) -> Any:
    """`value` checked against the annotation `hint` (ints pass as floats, lists as tuples)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    ok = False
    if origin is Literal:
        ok = value in args
    elif origin in (types.UnionType, typing.Union):
        for option in args:
            try:
                return _coerce(value, option, name)
            except ValueError:
                continue
    elif origin is tuple:
        ok = isinstance(value, list | tuple) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        )
        value = tuple(value) if ok else value
    elif hint is type(None):
        ok = value is None
    elif hint is bool:
        ok = isinstance(value, bool)
    elif hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif hint is str:
        ok = isinstance(value, str)
    if not ok:
        raise ValueError(f"{name}={value!r}: expected {_expected(hint)}")
    return value


Rules = dict[str, tuple[typing.Callable[[Any], bool], str]]  # setting -> (test, expected)


class _Section:
    """Type and range checks shared by the four sections, run when one is built."""

    SECTION: ClassVar[str]
    RULES: ClassVar[Rules] = {}

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in fields(self):  # type: ignore[arg-type]
            name = f"{self.SECTION}.{f.name}"
            value = _coerce(getattr(self, f.name), hints[f.name], name)
            object.__setattr__(self, f.name, value)
            rule = self.RULES.get(f.name)
            if rule is not None and value is not None and not rule[0](value):
                raise ValueError(f"{name}={value!r}: expected {rule[1]}")


def _positive(x: float) -> bool:
    return x > 0


def _at_least(n: int) -> typing.Callable[[Any], bool]:
    return lambda x: x >= n


@dataclass(frozen=True, kw_only=True)
class DataConfig(_Section):
    SECTION = "data"
    RULES: ClassVar[Rules] = {
        "split_id": (lambda x: 0 <= x <= 9, "a split between 0 and 9"),
        "height": (_at_least(32), "at least 32 (the smallest height ResNet50-IBN-a accepts)"),
        "width": (_at_least(16), "at least 16 (the smallest width ResNet50-IBN-a accepts)"),
        "clip_len": (_at_least(1), "at least 1 frame per clip"),
        "num_ids_per_batch": (
            _at_least(2),
            "at least 2 identities per batch (RLL needs negatives)",
        ),
        "num_instances": (_at_least(1), "at least 1 tracklet per identity"),
        "test_max_clips": (_at_least(1), "at least 1 clip, or None for all clips"),
        "test_max_frames": (_at_least(1), "at least 1 frame, or None for no frame cap"),
        "num_workers": (_at_least(0), "0 or more workers"),
    }

    dataset: Dataset = "mars"  # synthetic data use these layouts too
    root: str = "data/mars"  # dataset root in its native layout
    synthetic: bool = False  # generate a synthetic dataset at `root` when it is missing
    split_id: int = 0  # PRID2011 / iLIDS-VID split (VPRFT reports split 0)
    height: int = 224  # §IV-B prints 244; 224 matches Table II's input size and the (14, 7) kernel
    width: int = 112
    clip_len: int = 4  # T, Table III (4 beats 8)
    sampling: Sampling = "restricted_random"  # reference code's "intelligent"; paper: "random"
    num_ids_per_batch: int = 8  # C, Table IV: B = C × K = 32
    num_instances: int = 4  # K
    random_erasing: bool = True  # REA, p 0.5, one attempt (Re-ID-AR RandomErasing3)
    test_max_clips: int | None = 41  # reference code keeps <= 41 dense clips; None = all
    # the quick profile's cap, the same for every clip length (docs/decisions.md §4); None = none
    test_max_frames: int | None = None
    num_workers: int = 4  # DataLoader workers

    @property
    def test_clips(self) -> int | None:
        """The dense clips kept per test tracklet, the first ones: `test_max_clips`, and no more
        than `test_max_frames` frames hold (at least one clip); None keeps every clip."""
        caps = [self.test_max_clips]
        if self.test_max_frames is not None:
            caps.append(max(1, self.test_max_frames // self.clip_len))
        kept = [c for c in caps if c is not None]
        return min(kept) if kept else None


@dataclass(frozen=True, kw_only=True)
class ModelConfig(_Section):
    SECTION = "model"
    RULES: ClassVar[Rules] = {"last_stride": (lambda x: x in (1, 2), "1 or 2")}

    backbone: Backbone = "resnet50_ibn_a"  # §IV-B; Table I compares "resnet50"
    temporal: Temporal = "attention"  # Eq. (1); "average" for temporal average pooling
    eq1_form: Eq1Form = "reference"  # Σ a f (code); "paper" prints (1/T) Σ a f
    last_stride: int = 1  # §IV-B, following [20]
    init: Init = "imagenet"  # §IV-B: ImageNet weights; "synthetic" (quick: pre-trained on
    # disjoint synthetic identities, standing in for ImageNet); "random" is the explicit opt-out
    # the file the backbone starts from; None = for "imagenet" the backbone's file in
    # weights_dir, for "synthetic" the stand-in reidlib pre-trains once (training.pretrain)
    weights: str | None = None
    weights_dir: str = "data/weights"  # where ImageNet files are looked for (never downloaded)
    zero_init_residual: bool = False  # random init only: identity residual blocks (pre-training)


@dataclass(frozen=True, kw_only=True)
class LossConfig(_Section):
    SECTION = "loss"
    RULES: ClassVar[Rules] = {
        "label_smoothing": (lambda x: 0 <= x < 1, "a number in [0, 1)"),
        "rll_alpha": (_positive, "a positive number"),
        "rll_margin": (_at_least(0), "a number >= 0"),
        "rll_temperature": (_at_least(0), "a number >= 0"),
        "rll_lam": (_at_least(0), "a number >= 0"),
        "center_weight": (_at_least(0), "a number >= 0 (0 switches the center loss off)"),
        "center_lr": (_positive, "a positive number"),
        "erasing_weight": (_at_least(0), "a number >= 0"),
    }

    label_smoothing: float = 0.1  # epsilon, Eq. (4)
    ls_k: SmoothingK = "classes"  # N in Eq. (4) = number of ids; "batch" is Re-ID-AR's bug
    rll_alpha: float = 2.0  # alpha, §IV-B
    rll_margin: float = 1.3  # m, §IV-B (MARS, iLIDS-VID); the PRID2011 presets set 0.04
    rll_temperature: float = 1.0  # T in w = exp(T(α − d)); reference config
    rll_lam: float = 1.0  # lambda, Eq. (10); not given in the paper
    rll_variant: RLLVariant = "reference"  # code lineage | "paper" (Eq. 6-10 literally)
    center_weight: float = 5e-4  # beta: §IV-B prints 5e-5, every reference code uses 5e-4
    # what the ranked list and center losses read: "bnneck", the clip feature after BNNeck
    # (§III-B: BNNeck "before both of the FC layer and DML loss functions"), or "pre_bnneck",
    # the feature before it, where Luo et al. [18] put their metric losses; the ID loss always
    # reads the logits, i.e. the classifier on the feature after BNNeck
    dml_feature: DmlFeature = "bnneck"
    center_reduction: CenterReduction = "mean"  # Σ‖f − c‖²/B (code); "half_sum" is Eq. (11)
    center_lr: float = 0.5  # SGD on the centers (reference code)
    erasing_weight: float = 1.0  # weight of E_att in Eq. (13)
    eatt_form: EattForm = "reference"  # pre-softmax s, Σ_t, batch mean (code); "paper": a, 1/T


@dataclass(frozen=True, kw_only=True)
class TrainConfig(_Section):
    SECTION = "train"
    RULES: ClassVar[Rules] = {
        "epochs": (_at_least(1), "at least 1 epoch"),
        "lr": (_positive, "a positive number"),
        "weight_decay": (_at_least(0), "a number >= 0"),
        "milestones": (
            lambda m: all(a < b for a, b in itertools.pairwise((0, *m))),
            "increasing positive epochs",
        ),
        "gamma": (_positive, "a positive number"),
        "warmup_epochs": (_at_least(0), "0 or more epochs"),
        "warmup_factor": (lambda x: 0 < x <= 1, "a number in (0, 1]"),
        "eval_every": (_at_least(1), "at least 1 epoch"),
        "eval_chunk": (_at_least(1), "at least 1 clip"),
        "checkpoint_every": (_at_least(1), "at least 1 epoch"),
    }

    epochs: int = 120  # §IV-B
    lr: float = 3.5e-4  # base learning rate, §III-B / Eq. (2)
    weight_decay: float = 5e-4  # reference code (Adam on every trainable parameter)
    lr_form: ScheduleForm = "reference"  # Eq. (2) as the code runs it; "paper" / "paper_printed"
    milestones: tuple[int, ...] = (40, 70)  # Eq. (2)
    gamma: float = 0.1  # Eq. (2): 3.5e-4 -> 3.5e-5 -> 3.5e-6
    warmup_epochs: int = 10  # Eq. (2)
    warmup_factor: float = 0.01  # reference WarmupMultiStepLR
    eval_every: int = 10  # "validated every 10 epochs", §IV-B
    seed: int = 0
    precision: Precision = "fp32"  # the reference code trains in fp32; "bf16" autocasts (CUDA)
    channels_last: bool = False  # channels-last convolutions (same numbers, faster on GPUs)
    cpu_im2col: bool = False  # CPU only: im2col weight gradients on tiny maps (training.cpu_conv)
    init_checkpoint: str | None = None  # transfer learning (Table V): a reidlib checkpoint
    eval_chunk: int = 32  # test clips per forward pass
    checkpoint_every: int = 1  # epochs between `last.pt` writes (the final epoch always writes)


SECTIONS: dict[str, type[_Section]] = {
    "data": DataConfig,
    "model": ModelConfig,
    "loss": LossConfig,
    "train": TrainConfig,
}


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    name: str = "full"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RunConfig:
        """Inverse of `to_dict` (a run's `config.json` also records the `code` that made it,
        which is not a setting); unknown keys are an error naming them."""
        unknown = set(raw) - {"name", "code", *SECTIONS}
        if unknown:
            raise ValueError(f"unknown configuration sections {sorted(unknown)}")
        kwargs: dict[str, Any] = {"name": raw.get("name", "custom")}
        for key, section in SECTIONS.items():
            kwargs[key] = section(**_known(key, section, raw.get(key, {})))
        return cls(**kwargs)

    def digest(self) -> str:
        """A short hash of everything that changes the result: not the name, the worker count,
        how often checkpoints are written, or the folder the weights file lies in."""
        raw = self.to_dict()
        raw.pop("name")
        raw["data"].pop("num_workers")
        raw["train"].pop("checkpoint_every")
        raw["model"].pop("weights_dir")
        if raw["model"]["weights"] is not None:
            raw["model"]["weights"] = PurePath(raw["model"]["weights"]).name
        text = json.dumps(raw, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def with_overrides(self, **sections: dict[str, Any]) -> RunConfig:
        """`cfg.with_overrides(train={"epochs": 2})`: a copy with some settings replaced.

        Raises:
            ValueError: an unknown section or setting (naming the ones that exist), or a value
                of the wrong type or range.
        """
        unknown = set(sections) - set(SECTIONS)
        if unknown:
            raise ValueError(
                f"unknown configuration sections {sorted(unknown)}: expected some of "
                f"{sorted(SECTIONS)}"
            )
        updated = {
            key: replace(getattr(self, key), **_known(key, SECTIONS[key], values))
            for key, values in sections.items()
        }
        return replace(self, **updated)


def _known(key: str, section: type[_Section], values: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(section)}  # type: ignore[arg-type]
    bad = set(values) - names
    if bad:
        raise ValueError(f"unknown {key} settings {sorted(bad)}: expected some of {sorted(names)}")
    return dict(values)


def config_diff(base: RunConfig, other: RunConfig) -> list[dict[str, Any]]:
    """Every setting where `other` differs from `base`, as rows `{setting, base, other}`
    (e.g. what the quick profile changes in the paper's settings)."""
    a, b = base.to_dict(), other.to_dict()
    return [
        {"setting": f"{section}.{key}", "base": value, "other": b[section][key]}
        for section in SECTIONS
        for key, value in a[section].items()
        if b[section][key] != value
    ]
