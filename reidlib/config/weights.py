"""Which ImageNet file a run starts from: found in a local folder, checked, never downloaded.

The paper starts every row from ImageNet weights (§IV-B; Table V's first row). Each backbone has
its own official file: ResNet50-IBN-a from IBN-Net's v1.0 release (or its older `.pth.tar`),
plain ResNet50 (Table I) from torchvision's IMAGENET1K_V1 (the paper predates V2). A file whose
name carries a hash (torch hub's `name-<sha256 prefix>.ext`) is checked against it. Nothing here
imports torch; `reidlib.training.build_run` calls it first, so a missing file is reported before
any data is read or any network built.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

from reidlib.config.schema import RunConfig


class ImageNetFile(NamedTuple):
    name: str  # the official file name
    source: str  # where it comes from
    older_names: tuple[str, ...] = ()  # other names of the same weights, looked for after `name`


IMAGENET_FILES: dict[str, ImageNetFile] = {
    "resnet50_ibn_a": ImageNetFile(
        "resnet50_ibn_a-d9d0bb7b.pth",
        "IBN-Net's v1.0 release, https://github.com/XingangPan/IBN-Net/releases/download/v1.0/"
        "resnet50_ibn_a-d9d0bb7b.pth",
        ("resnet50_ibn_a.pth.tar",),
    ),
    "resnet50": ImageNetFile(
        "resnet50-0676ba61.pth",
        "torchvision's ResNet50 IMAGENET1K_V1, https://download.pytorch.org/models/"
        "resnet50-0676ba61.pth",
    ),
}

_HASH_IN_NAME = re.compile(r"-([0-9a-f]{8,64})\.")  # torch hub's convention


def check_hash(path: Path) -> None:
    """Raises `ValueError` naming both hashes when `path`'s name carries a SHA-256 prefix that
    the file's content does not have."""
    match = _HASH_IN_NAME.search(path.name)
    if match is None:
        return
    expected = match.group(1)
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            sha.update(block)
    actual = sha.hexdigest()
    if not actual.startswith(expected):
        raise ValueError(
            f"{path}: SHA-256 {actual[: len(expected)]}… does not match the {expected} its name "
            "carries (a damaged or different file)"
        )


def resolve_weights(cfg: RunConfig) -> RunConfig:
    """`cfg` with `model.weights` set to the ImageNet file the run starts from, checked.

    Nothing to find for `model.init="random"` or a transfer run (`train.init_checkpoint`, which
    brings every tensor but the classifier), nor for `model.init="synthetic"` without a file:
    that backbone is pre-trained by reidlib itself (`reidlib.training.pretrain.with_pretrained`,
    which `reidlib.training.build_run` calls after it). Otherwise `model.weights` names the file, or it is
    looked for in `model.weights_dir` under the backbone's official name.

    Raises:
        FileNotFoundError: the file is missing; the message names the path looked for, the
            backbone and where the official file comes from.
        ValueError: its content does not match the hash in its name.
    """
    model = cfg.model
    if model.init == "random" or cfg.train.init_checkpoint is not None:
        return cfg
    if model.init == "synthetic":
        return cfg if model.weights is None else _checked(Path(model.weights), cfg)
    official = IMAGENET_FILES[model.backbone]
    if model.weights is not None:
        path = Path(model.weights)
    else:
        folder = Path(model.weights_dir)
        candidates = [folder / name for name in (official.name, *official.older_names)]
        path = next((p for p in candidates if p.is_file()), candidates[0])
    if not path.is_file():
        raise FileNotFoundError(
            f"{path.absolute()}: ImageNet weights for {model.backbone} not found (the official file is "
            f"{official.name}, from {official.source}); put it there, or pass --weights PATH or "
            "--weights-dir DIR, or --random-init to train from random weights"
        )
    return _checked(path, cfg)


def _checked(path: Path, cfg: RunConfig) -> RunConfig:
    """`cfg` starting from `path`, which must exist and match the hash its name carries."""
    if not path.is_file():
        raise FileNotFoundError(
            f"{path.absolute()}: the pre-trained {cfg.model.backbone} backbone given as "
            "model.weights is not there; leave model.weights unset and reidlib pre-trains it"
        )
    check_hash(path)
    return replace(cfg, model=replace(cfg.model, weights=str(path.resolve())))
