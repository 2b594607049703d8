"""The quick profile's stand-in for ImageNet: a backbone pre-trained once on synthetic identities
of its own, cached as a run keyed by its settings, loaded through the ImageNet path."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from reidlib.config import load_profile
from reidlib.config.profiles import PRETRAIN, PRETRAIN_DATA
from reidlib.data import make_synthetic, read_manifest
from reidlib.network import build_backbone, load_pretrained
from reidlib.training import pretrain
from reidlib.training.pretrain import (
    ensure_pretrained,
    pretrain_config,
    pretrain_dir,
    with_pretrained,
)
from reidlib.training.runner import load_dataset, train
from reidlib.training.trainer import Trainer

TINY_DATA = {"num_ids": 8, "train_fraction": 0.5, "num_cameras": 2, "image_size": (32, 16)}
TINY_RUN = {
    "data": {"clip_len": 2, "num_ids_per_batch": 2, "num_instances": 2},
    "train": {"epochs": 1, "milestones": (), "eval_every": 1, "eval_chunk": 8},
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny target dataset, and the pre-training shrunk to one epoch on 4 identities; the
    tests of this module share its runs folder (the first to need the backbone builds it)."""
    folder = tmp_path_factory.mktemp("pretrain")
    root = make_synthetic(folder / "data" / "mars", seed=0, progress=False, **TINY_DATA)
    cfg = load_profile("quick").with_overrides(
        data={"root": str(root), "synthetic": False, **TINY_RUN["data"]},
        train=TINY_RUN["train"],
        model={"init": "synthetic"},
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pretrain, "PRETRAIN_DATA", {**PRETRAIN_DATA, **TINY_DATA})
        patch.setattr(pretrain, "PRETRAIN", PRETRAIN.with_overrides(**TINY_RUN))
        yield cfg, folder / "runs"


def test_quick_runs_start_from_the_synthetic_stand_in_for_imagenet():
    quick, table_row = load_profile("quick"), load_profile("quick", preset="table5_imagenet")
    assert quick.model.init == table_row.model.init == "synthetic"
    assert load_profile("full").model.init == "imagenet"
    assert PRETRAIN.model.init == "random"  # the stand-in itself is trained from scratch
    assert PRETRAIN_DATA["seed"] not in (0, 1, 2)  # people of no other synthetic dataset


def test_pretraining_is_built_once_then_reused(tiny, monkeypatch):
    cfg, runs = tiny
    assert not runs.exists()
    path = ensure_pretrained(cfg, runs_root=runs, progress=False)
    folder = runs / f"pretrain-{pretrain_config(cfg).digest()}"
    assert path.parent == folder and (folder / "last.pt").is_file()
    assert path.name.startswith("resnet50_ibn_a-synthetic-")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert path.name == f"resnet50_ibn_a-synthetic-{sha[:8]}.pth"  # torch hub's convention
    backbone = build_backbone("resnet50_ibn_a")
    assert load_pretrained(backbone, path) == len(backbone.state_dict())  # the ImageNet layout
    manifest = read_manifest(runs / "synthetic-pretrain")  # in the runs folder, not by the data
    assert manifest["params"]["seed"] == PRETRAIN_DATA["seed"]
    assert not (Path(cfg.data.root).parent / "synthetic-pretrain").exists()
    assert json.loads((folder / "backbone.json").read_text())["file"] == path.name

    def no_training(self, **_):
        raise AssertionError("pre-trained again")

    monkeypatch.setattr(Trainer, "fit", no_training)
    assert ensure_pretrained(cfg, runs_root=runs, progress=False) == path
    assert path.read_bytes() and hashlib.sha256(path.read_bytes()).hexdigest() == sha


def test_the_cache_is_keyed_by_the_pretraining_settings(tiny):
    cfg, runs = tiny
    plain = cfg.with_overrides(model={"backbone": "resnet50"})  # Table I's other row
    larger = cfg.with_overrides(data={"height": 64, "width": 32})
    seeded = cfg.with_overrides(train={"seed": 7}, loss={"rll_margin": 0.04})
    digests = {pretrain_config(c).digest() for c in (cfg, plain, larger)}
    assert len(digests) == 3
    # like ImageNet weights, the stand-in does not depend on the target run's seed or losses
    same = {pretrain_config(c).digest() for c in (cfg, seeded)}
    assert len(same) == 1
    # nor on how the runs folder is written: the command line's "runs", a notebook's full path
    named = {pretrain_dir(cfg, runs_root=r).name for r in ("runs", Path.cwd() / "runs", runs)}
    assert len(named) == 1


def test_a_run_loads_the_pretrained_backbone_and_names_it_in_its_digest(tiny):
    cfg, runs = tiny
    with pytest.raises(ValueError, match="pre-trained on synthetic identities"):
        Trainer(cfg, load_dataset(cfg.data, progress=False), progress=False)
    resolved = with_pretrained(cfg, runs_root=runs, progress=False)
    weights = Path(resolved.model.weights)
    assert weights.name.startswith("resnet50_ibn_a-synthetic-") and weights.is_file()
    trainer = train(cfg, runs_root=runs, progress=False, check_data=False)
    assert trainer.cfg.model.weights == str(weights)
    assert trainer.weights_loaded == len(build_backbone("resnet50_ibn_a").state_dict())
    assert trainer.out_dir.name == f"mars-{resolved.digest()}" != f"mars-{cfg.digest()}"
    loaded = torch.load(weights, weights_only=True)
    trained = trainer.net.backbone.state_dict()
    assert not torch.equal(loaded["conv1.weight"], trained["conv1.weight"])  # fine-tuned
    # a transfer run (Table V) takes every tensor from its source instead
    transfer = cfg.with_overrides(train={"init_checkpoint": str(trainer.out_dir / "last.pt")})
    assert with_pretrained(transfer, runs_root=runs).model.weights is None
    # an ImageNet run is left as resolve_weights made it: its file is hashed there, once
    imagenet = cfg.with_overrides(model={"init": "imagenet", "weights": str(weights)})
    assert with_pretrained(imagenet, runs_root=runs) is imagenet
