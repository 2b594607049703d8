"""Run configuration: frozen dataclasses whose defaults are the paper's settings.

Every default is the value REFERENCE.md resolves from the paper and the reference code; where the
two disagree, the comment names both (REFERENCE.md §8).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    dataset: str = "mars"  # "mars" | "prid2011" | "ilidsvid" (synthetic data use these layouts)
    root: str = "data/mars"  # dataset root in its native layout
    synthetic: bool = False  # generate a synthetic dataset at `root` when it is missing
    split_id: int = 0  # PRID2011 / iLIDS-VID split (VPRFT reports split 0)
    height: int = 224  # §IV-B prints 244; 224 matches Table II's input size and the (14, 7) kernel
    width: int = 112
    clip_len: int = 4  # T, Table III (4 beats 8)
    sampling: str = "restricted_random"  # reference code's "intelligent" sampler; paper: "random"
    num_ids_per_batch: int = 8  # C, Table IV: B = C × K = 32
    num_instances: int = 4  # K
    random_erasing: bool = True  # REA, p 0.5, one attempt (Re-ID-AR RandomErasing3)
    test_max_clips: int | None = 41  # reference code keeps <= 41 dense clips; None = all
    num_workers: int = 4  # DataLoader workers


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    backbone: str = "resnet50_ibn_a"  # §IV-B; Table I compares "resnet50"
    temporal: str = "attention"  # Eq. (1); "average" for temporal average pooling
    eq1_form: str = "reference"  # Σ a f (code); "paper" prints (1/T) Σ a f
    last_stride: int = 1  # §IV-B, following [20]
    pretrained_path: str = ""  # local ImageNet state dict; "" = random initialisation
    zero_init_residual: bool = False  # random init only: identity residual blocks (quick profile)


@dataclass(frozen=True, kw_only=True)
class LossConfig:
    label_smoothing: float = 0.1  # epsilon, Eq. (4)
    ls_k: str = "classes"  # N in Eq. (4) = number of ids; "batch" reproduces Re-ID-AR's bug
    rll_alpha: float = 2.0  # alpha, §IV-B
    rll_margin: float = 1.3  # m, §IV-B (MARS, iLIDS-VID); the PRID2011 presets set 0.04
    rll_temperature: float = 1.0  # T in w = exp(T(α − d)); reference config
    rll_lam: float = 1.0  # lambda, Eq. (10); not given in the paper
    rll_variant: str = "reference"  # "reference" (code lineage) | "paper" (Eq. 6-10 literally)
    center_weight: float = 5e-4  # beta: §IV-B prints 5e-5, every reference code uses 5e-4
    center_reduction: str = "mean"  # Σ‖f − c‖²/B (code); "half_sum" is Eq. (11)'s ½Σ
    center_lr: float = 0.5  # SGD on the centers (reference code)
    erasing_weight: float = 1.0  # weight of E_att in Eq. (13)
    eatt_form: str = "reference"  # pre-softmax s, Σ_t, batch mean (code); "paper": a and 1/T


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    epochs: int = 120  # §IV-B
    lr: float = 3.5e-4  # base learning rate, §III-B / Eq. (2)
    weight_decay: float = 5e-4  # reference code (Adam on every trainable parameter)
    lr_form: str = "reference"  # Eq. (2) as the code runs it; "paper" / "paper_printed"
    milestones: tuple[int, ...] = (40, 70)  # Eq. (2)
    gamma: float = 0.1  # Eq. (2): 3.5e-4 -> 3.5e-5 -> 3.5e-6
    warmup_epochs: int = 10  # Eq. (2)
    warmup_factor: float = 0.01  # reference WarmupMultiStepLR
    eval_every: int = 10  # "validated every 10 epochs", §IV-B
    seed: int = 0
    bf16: bool = False  # CUDA: bf16 autocast (the full profile turns it on)
    channels_last: bool = False  # CUDA: channels-last convolutions (the full profile turns it on)
    init_checkpoint: str = ""  # transfer learning (Table V): a reidlib checkpoint to start from
    eval_chunk: int = 32  # test clips per forward pass
    checkpoint_every: int = 1  # epochs between `last.pt` writes (the final epoch always writes)


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
        """Inverse of `to_dict`; unknown keys are an error naming them."""
        sections = {
            "data": DataConfig,
            "model": ModelConfig,
            "loss": LossConfig,
            "train": TrainConfig,
        }
        unknown = set(raw) - {"name", *sections}
        if unknown:
            raise ValueError(f"unknown configuration sections {sorted(unknown)}")
        kwargs: dict[str, Any] = {"name": raw.get("name", "custom")}
        for key, section in sections.items():
            values = dict(raw.get(key, {}))
            names = {f.name for f in fields(section)}
            bad = set(values) - names
            if bad:
                raise ValueError(
                    f"unknown {key} settings {sorted(bad)}: expected some of {sorted(names)}"
                )
            if "milestones" in values:
                values["milestones"] = tuple(values["milestones"])
            kwargs[key] = section(**values)
        return cls(**kwargs)

    def digest(self) -> str:
        """A short hash of everything that changes the result (not the name, the worker count
        or how often checkpoints are written)."""
        raw = self.to_dict()
        raw.pop("name")
        raw["data"].pop("num_workers")
        raw["train"].pop("checkpoint_every")
        text = json.dumps(raw, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def with_overrides(self, **sections: dict[str, Any]) -> RunConfig:
        """`cfg.with_overrides(train={"epochs": 2})`: a copy with some settings replaced."""
        updated = {key: replace(getattr(self, key), **values) for key, values in sections.items()}
        return replace(self, **updated)


def config_diff(base: RunConfig, other: RunConfig) -> list[dict[str, Any]]:
    """Every setting where `other` differs from `base`, as rows `{setting, base, other}`
    (e.g. what the quick profile changes in the paper's settings)."""
    a, b = base.to_dict(), other.to_dict()
    return [
        {"setting": f"{section}.{key}", "base": value, "other": b[section][key]}
        for section in ("data", "model", "loss", "train")
        for key, value in a[section].items()
        if b[section][key] != value
    ]
