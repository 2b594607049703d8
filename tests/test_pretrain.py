"""The quick profile's stand-in for ImageNet: a backbone pre-trained once on synthetic identities
of its own, cached in the runs folder under the digest of its settings, exported in the ImageNet
layout under the SHA-256 of its bytes, and loaded by every run that starts from it."""

from __future__ import annotations

import hashlib
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from reidlib.config import RunConfig, load_profile
from reidlib.config.profiles import PRETRAIN, PRETRAIN_DATA
from reidlib.data import SYNTHETIC_DEFAULTS
from reidlib.network import build_backbone, load_pretrained
from reidlib.training import pretrain, provenance, train
from reidlib.training.pretrain import (
    ensure_pretrained,
    pretrain_config,
    pretrain_dir,
    pretrained,
    with_pretrained,
)
from reidlib.training.side_by_side import pretrain_side_by_side
from tests.data_builders import TINY_MARS, fingerprint

# The pre-training shrunk to one epoch on 4 identities of 32×16 frames (seconds, not minutes).
TINY_PRETRAIN_DATA = {"num_ids": 8, "train_fraction": 0.5, "num_cameras": 2, "image_size": (32, 16)}
TINY_RUN = {
    "data": {"clip_len": 2, "num_ids_per_batch": 2, "num_instances": 2},
    "train": {"epochs": 1, "milestones": (), "eval_every": 1, "eval_chunk": 8},
}
QUICK = load_profile("quick")  # model.init = "synthetic": its runs start from the stand-in


def test_the_pretraining_follows_the_backbone_input_size_and_last_stride():
    def made_for(cfg: RunConfig) -> tuple:
        return cfg.model.backbone, cfg.model.last_stride, cfg.data.height, cfg.data.width

    base = pretrain_config(QUICK)
    assert made_for(base) == ("resnet50_ibn_a", 1, 32, 16)
    assert base.model.init == "random"  # trained from scratch, not from itself
    digests = {base.digest()}
    for change, expected in [
        ({"model": {"backbone": "resnet50"}}, ("resnet50", 1, 32, 16)),  # Table I's other row
        ({"model": {"last_stride": 2}}, ("resnet50_ibn_a", 2, 32, 16)),
        ({"data": {"height": 64, "width": 32}}, ("resnet50_ibn_a", 1, 64, 32)),
        ({"data": {"width": 24}}, ("resnet50_ibn_a", 1, 32, 24)),
    ]:
        pcfg = pretrain_config(QUICK.with_overrides(**change))
        assert made_for(pcfg) == expected
        digests.add(pcfg.digest())
    assert len(digests) == 5  # each its own pre-training, in its own folder


def test_the_pretraining_ignores_the_rest_of_the_target_run():
    # like ImageNet weights: one stand-in for every dataset, seed, loss and batch of a backbone
    same = [
        QUICK.with_overrides(data={"dataset": "prid2011", "root": "elsewhere/prid2011"}),
        QUICK.with_overrides(data={"clip_len": 8, "num_ids_per_batch": 4}),
        QUICK.with_overrides(train={"seed": 7, "epochs": 3}, loss={"rll_margin": 0.04}),
        QUICK.with_overrides(model={"weights_dir": "elsewhere"}),
    ]
    assert {pretrain_config(c).digest() for c in same} == {pretrain_config(QUICK).digest()}
    # its people appear in no synthetic dataset a run trains or is evaluated on
    assert PRETRAIN_DATA["seed"] not in {p["seed"] for p in SYNTHETIC_DEFAULTS.values()}


def test_the_pretraining_folder_does_not_depend_on_how_the_runs_folder_is_written(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    relative = pretrain_dir(QUICK, runs_root="runs")  # the command line's
    assert relative.parent == Path("runs")
    assert relative.name.endswith(pretrain_config(QUICK).digest())
    # a notebook's absolute path to the same folder shares the pre-training
    assert pretrain_dir(QUICK, runs_root=tmp_path / "runs") == tmp_path / relative
    plain = QUICK.with_overrides(model={"backbone": "resnet50"})
    assert pretrain_dir(plain, runs_root="runs") != relative


def test_runs_that_do_not_start_from_the_stand_in_are_left_as_they_are(tmp_path):
    runs = tmp_path / "runs"
    untouched = [
        QUICK.with_overrides(model={"init": "random"}),
        # an ImageNet run: resolve_weights checked and hashed its file before
        QUICK.with_overrides(
            model={"init": "imagenet", "weights": "w/resnet50_ibn_a-0a1b2c3d.pth"}
        ),
        QUICK.with_overrides(model={"weights": str(tmp_path / "given.pth")}),  # a file given
        QUICK.with_overrides(train={"init_checkpoint": str(tmp_path / "last.pt")}),  # Table V
    ]
    for cfg in untouched:
        assert with_pretrained(cfg, runs_root=runs, progress=False) is cfg
    assert not runs.exists()  # nothing generated, nothing trained


# ----------------------------------------------------------- pre-training for real (slow)


def tiny_quick(root: Path) -> RunConfig:
    """A quick-profile run on the tiny synthetic MARS at `root`, shrunk like the pre-training."""
    return QUICK.with_overrides(
        data={"root": str(root), "synthetic": False, **TINY_RUN["data"]},
        train=TINY_RUN["train"],
    )


@dataclass(frozen=True, kw_only=True)
class Pretrained:
    cfg: RunConfig  # a run that starts from the stand-in
    runs: Path  # the runs folder it was pre-trained into
    path: Path  # the exported backbone file
    data_before: dict  # `fingerprint` of the folder holding the run's data, before
    data_after: dict  # and after the pre-training


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory, synthetic_root):
    """The shrunk pre-training, built once into a runs folder that the tests below share."""
    cfg = tiny_quick(synthetic_root("mars", **TINY_MARS))
    runs = tmp_path_factory.mktemp("pretrain") / "runs"
    data = Path(cfg.data.root).parent
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pretrain, "PRETRAIN_DATA", {**PRETRAIN_DATA, **TINY_PRETRAIN_DATA})
        patch.setattr(pretrain, "PRETRAIN", PRETRAIN.with_overrides(**TINY_RUN))
        before = fingerprint(data)
        path = ensure_pretrained(cfg, runs_root=runs, progress=False)
        yield Pretrained(
            cfg=cfg, runs=runs, path=path, data_before=before, data_after=fingerprint(data)
        )


def files(root: Path) -> dict:
    """`fingerprint` of the files under `root` (content hash, mode, mtime)."""
    return {name: v for name, v in fingerprint(root).items() if (root / name).is_file()}


@pytest.mark.slow
def test_the_export_is_an_imagenet_layout_file_named_by_its_sha256(stand_in):
    path = stand_in.path
    assert path.parent == pretrain_dir(stand_in.cfg, runs_root=stand_in.runs)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert path.name == f"resnet50_ibn_a-synthetic-{sha[:8]}.pth"  # torch hub's convention
    backbone = build_backbone("resnet50_ibn_a")
    assert load_pretrained(backbone, path) == len(backbone.state_dict())  # every tensor
    # its identities were generated in the runs folder, never beside the user's data
    assert stand_in.data_after == stand_in.data_before


@pytest.mark.slow
def test_a_second_call_reuses_the_export_and_writes_nothing(stand_in):
    cfg, runs = stand_in.cfg, stand_in.runs
    before = files(runs)
    assert ensure_pretrained(cfg, runs_root=runs, progress=False) == stand_in.path
    resolved = with_pretrained(cfg, runs_root=runs, progress=False)
    assert Path(resolved.model.weights).resolve() == stand_in.path.resolve()
    assert files(runs) == before  # not trained, exported or touched again


def run_by_other_code(monkeypatch) -> None:
    """Every reidlib module now sees another `code_version()`, as after an edit to a loss."""
    current = provenance.code_version
    other = {"version": "0.0.0", "sources": "0" * 12}
    for name, module in list(sys.modules.items()):
        if name.startswith("reidlib") and getattr(module, "code_version", None) is current:
            monkeypatch.setattr(module, "code_version", lambda: other)


@pytest.mark.slow
def test_an_export_made_by_other_code_is_trained_again(stand_in, tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    shutil.copytree(stand_in.runs, runs)
    folder = pretrain_dir(stand_in.cfg, runs_root=runs)
    before = files(folder)
    run_by_other_code(monkeypatch)
    again = ensure_pretrained(stand_in.cfg, runs_root=runs, progress=False)
    after = files(folder)
    assert again.parent == folder and again.name in after
    retrained = [name for name in before if name.endswith(".pt") and after[name] != before[name]]
    assert retrained, sorted(before)  # its checkpoints were written again, not only the export
    # the new export is this code's: the next call reuses it
    assert ensure_pretrained(stand_in.cfg, runs_root=runs, progress=False) == again
    assert files(folder) == after


@pytest.mark.slow
def test_a_quick_run_fine_tunes_the_stand_in_and_names_it_in_its_digest(stand_in):
    cfg, path = stand_in.cfg, stand_in.path
    trainer = train(cfg, runs_root=stand_in.runs, progress=False, check_data=False)
    assert Path(trainer.cfg.model.weights).resolve() == path.resolve()
    assert trainer.weights_loaded == len(build_backbone("resnet50_ibn_a").state_dict())
    resolved = with_pretrained(cfg, runs_root=stand_in.runs, progress=False)
    assert trainer.out_dir.name == f"mars-{resolved.digest()}" != f"mars-{cfg.digest()}"
    loaded = torch.load(path, weights_only=True)
    trained = trainer.net.backbone.state_dict()
    assert not torch.equal(loaded["conv1.weight"], trained["conv1.weight"])  # fine-tuned


@pytest.mark.slow
def test_an_exported_stand_in_is_pretrained_and_not_trained_again_side_by_side(stand_in, tmp_path):
    cfg, runs = stand_in.cfg, stand_in.runs
    assert pretrained(cfg, runs_root=runs)
    assert not pretrained(cfg, runs_root=tmp_path / "runs")  # nothing exported there
    before = files(runs)
    # two runs of the same backbone share one stand-in, already exported: nothing to do
    same = [cfg, cfg.with_overrides(train={"seed": 1})]
    assert pretrain_side_by_side(same, runs_root=runs, threads=2, progress=False) == 0
    assert files(runs) == before
