"""The paper's settings for real: ImageNet weights found and checked before any data is read,
and a fast dev run of the full profile at 224×112 on the CPU."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from reidlib.cli import main
from reidlib.config import load_profile, resolve_weights
from reidlib.network import build_backbone


@pytest.fixture(scope="module")
def small_mars(synthetic_root) -> Path:
    """A synthetic MARS layout with 8 training identities: one batch of the paper's 8 × 4."""
    return synthetic_root(
        "mars", num_ids=16, train_fraction=0.5, num_cameras=2, seed=0, image_size=(64, 32)
    )


def ibn_release_file(folder: Path, *, name: str | None = None) -> tuple[Path, int]:
    """A file laid out like IBN-Net's v1.0 release (backbone keys, `fc.*`, no prefix), named
    `resnet50_ibn_a-<its own sha256 prefix>.pth`. Returns the path and its backbone tensors."""
    torch.manual_seed(0)
    state = build_backbone("resnet50_ibn_a").state_dict()
    tensors = len(state)
    state["fc.weight"], state["fc.bias"] = torch.randn(1000, 2048), torch.randn(1000)
    tmp = folder / "weights.tmp"
    torch.save(state, tmp)
    sha = hashlib.sha256(tmp.read_bytes()).hexdigest()
    path = folder / (name or f"resnet50_ibn_a-{sha[:8]}.pth")
    tmp.rename(path)
    return path, tensors


def test_full_profile_without_weights_stops_in_seconds_naming_the_file(
    small_mars, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    reached = []  # what the run would do after finding its weights: read data, build the network
    for name in ("load_dataset", "build_network"):
        monkeypatch.setattr(
            f"reidlib.training.build.{name}", lambda *a, _n=name, **k: reached.append(_n)
        )
    args = ["train", "--profile", "full", "--root", str(small_mars), "--device", "cpu"]
    assert main(args) == 1
    assert reached == []  # stopped before any data was read or any network built
    err = capsys.readouterr().err
    assert err.count("\n") == 1  # one line
    assert f"{tmp_path}/data/weights/resnet50_ibn_a-d9d0bb7b.pth: ImageNet weights" in err
    assert "XingangPan/IBN-Net/releases" in err and "--random-init" in err
    assert main([*args, "--set", "model.backbone=resnet50"]) == 1  # Table I's other row
    err = capsys.readouterr().err
    assert "resnet50-0676ba61.pth" in err and "download.pytorch.org" in err
    assert not (tmp_path / "runs").exists()


def test_weights_are_found_in_the_folder_under_either_official_name(tmp_path):
    cfg = load_profile("full").with_overrides(model={"weights_dir": str(tmp_path)})
    old = tmp_path / "resnet50_ibn_a.pth.tar"  # IBN-Net's older file: no hash in its name
    old.write_bytes(b"x")
    assert resolve_weights(cfg).model.weights == str(old)
    new = tmp_path / "resnet50_ibn_a-d9d0bb7b.pth"  # the release name is looked for first
    new.write_bytes(b"not the release")
    with pytest.raises(ValueError, match=r"resnet50_ibn_a-d9d0bb7b\.pth: SHA-256 [0-9a-f]{8}… "):
        resolve_weights(cfg)
    # random init and transfer runs need no ImageNet file
    assert resolve_weights(cfg.with_overrides(model={"init": "random"})).model.weights is None
    transfer = cfg.with_overrides(train={"init_checkpoint": str(tmp_path / "run.pt")})
    assert resolve_weights(transfer).model.weights is None


def test_a_file_whose_content_does_not_match_its_hash_is_refused(tmp_path):
    path, _ = ibn_release_file(tmp_path, name="resnet50_ibn_a-d9d0bb7b.pth")
    cfg = load_profile("full").with_overrides(model={"weights": str(path)})
    with pytest.raises(ValueError, match="does not match the d9d0bb7b its name carries"):
        resolve_weights(cfg)


def test_random_init_is_recorded_and_contradicting_flags_are_refused(small_mars, capsys):
    args = ["train", "--root", str(small_mars), "--random-init", "--weights", "w.pth"]
    assert main(args) == 1
    assert "--random-init and --weights contradict each other" in capsys.readouterr().err


@pytest.mark.slow
def test_fast_dev_run_of_the_full_profile_at_224x112(small_mars, tmp_path, capsys):
    weights, tensors = ibn_release_file(tmp_path)
    out = tmp_path / "dev"
    args = ["train", "--profile", "full", "--root", str(small_mars), "--device", "cpu"]
    args += ["--weights", str(weights), "--fast-dev-run", "2", "--out", str(out)]
    args += ["--set", "data.num_workers=2"]  # this machine has two cores
    assert main(args) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert (cfg["data"]["height"], cfg["data"]["width"]) == (224, 112)
    assert (cfg["data"]["num_ids_per_batch"], cfg["data"]["num_instances"]) == (8, 4)
    assert cfg["data"]["clip_len"] == 4 and cfg["data"]["test_max_clips"] == 41
    assert cfg["train"]["lr"] == 3.5e-4 and cfg["train"]["epochs"] == 120
    assert cfg["train"]["precision"] == "fp32" and cfg["model"]["init"] == "imagenet"
    assert cfg["model"]["weights"] == str(weights)
    report = json.loads((out / "report.json").read_text())
    assert report["attention_kernel"] == [14, 7]  # the kernel of Table II's network
    assert report["weights_tensors_loaded"] == tensors
    assert report["steps"] == 2 and len(report["seconds_per_step"]) == 2
    assert all(torch.isfinite(torch.tensor([report["loss_first"], report["loss_last"]])))
    ev = report["evaluation"]
    assert ev["queries"] == 2 and 0 <= ev["rank1"] <= 100 and ev["num_valid_queries"] == 2
    printed = capsys.readouterr().out
    assert "input 224x112, attention kernel (14, 7), B = 8 x 4 = 32 clips, T = 4" in printed
    assert f"{weights}: {tensors} tensors loaded" in printed
    assert not (Path.cwd() / "runs" / f"mars-{load_profile('full').digest()}").exists()
