"""Pre-training on disjoint synthetic identities: the quick profile's stand-in for ImageNet.

The paper starts every run from ImageNet weights (§IV-B; Table V's first row). The quick profile
cannot download them, and from random weights its few CPU steps learn colours, not people. So it
keeps the paper's structure with a stand-in: a backbone trained once on a synthetic dataset of
its own (`PRETRAIN_DATA`: other people, other cameras) with the quick recipe adapted to
frames (`PRETRAIN`), exported in the ImageNet state-dict layout, and loaded by every run with
`model.init="synthetic"` through the same path as an ImageNet file (`load_pretrained`), before
fine-tuning on the run's own data (docs/decisions.md §3).

The pre-training is a run like any other: cached in `runs/pretrain-<digest>/`, locked while
trained, trained again when its settings or reidlib's code change; its data are generated once
into `runs/synthetic-pretrain/`, never beside a user's data. Its backbone file is named
`<backbone>-synthetic-<SHA-256 prefix>.pth` (torch hub's convention, checked each time it is
read back, `check_hash`), so the digest of every run that starts from it names the weights it used.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path

import torch

from reidlib.config import RunConfig
from reidlib.config.profiles import PRETRAIN, PRETRAIN_DATA
from reidlib.config.weights import check_hash
from reidlib.data import build_dataset, ensure_synthetic
from reidlib.training.build import build_run
from reidlib.training.provenance import code_version
from reidlib.training.trainer import Trainer

DATA_FOLDER = "synthetic-pretrain"  # the pre-training identities, in the runs folder
RECORD = "backbone.json"  # which file a finished pre-training exported, and from what code


def pretrain_config(cfg: RunConfig) -> RunConfig:
    """The pre-training behind `cfg`: `PRETRAIN` with `cfg`'s backbone, last stride and input
    size, on `PRETRAIN_DATA`. Its `data.root` stays `PRETRAIN`'s, whatever folder the runs
    are cached in, so the command line and the notebooks share one pre-training; the data lie
    in `<runs_root>/synthetic-pretrain` (`ensure_pretrained`)."""
    return PRETRAIN.with_overrides(
        data={"height": cfg.data.height, "width": cfg.data.width},
        model={"backbone": cfg.model.backbone, "last_stride": cfg.model.last_stride},
    )


def pretrain_dir(cfg: RunConfig, *, runs_root: Path | str) -> Path:
    """`<runs_root>/pretrain-<digest>` of `cfg`'s pre-training (`pretrain_config`)."""
    return Path(runs_root) / f"pretrain-{pretrain_config(cfg).digest()}"


def ensure_pretrained(
    cfg: RunConfig,
    *,
    runs_root: Path | str,
    device: torch.device | str = "cpu",
    progress: bool = True,
) -> Path:
    """The pre-trained backbone `cfg` starts from: trained and exported the first time, read
    back afterwards.

    Args:
        cfg: a run with `model.init="synthetic"` (its backbone and input size are used).
        runs_root: where runs are cached (`runs/`).
        device: where to pre-train when it has not been done yet.
        progress: progress bars.

    Returns:
        `<runs_root>/pretrain-<digest>/<backbone>-synthetic-<SHA-256 prefix>.pth`, a backbone
        state dict in the ImageNet layout.
    """
    pcfg = pretrain_config(cfg)
    out = pretrain_dir(cfg, runs_root=runs_root)
    found = _exported(out, pcfg)
    if found is not None:
        return found
    root = ensure_synthetic(Path(runs_root) / DATA_FOLDER, progress=progress, **PRETRAIN_DATA)
    trainer = build_run(
        pcfg,
        build_dataset("mars", root),
        device=device,
        runs_root=runs_root,
        out_dir=out,
        progress=progress,
    )
    trainer.fit()  # resumes, or returns at once when another process finished it meanwhile
    return _export(trainer, out)


def pretrained(cfg: RunConfig, *, runs_root: Path | str) -> bool:
    """Whether the stand-in backbone `cfg` starts from is pre-trained and exported already."""
    return _exported(pretrain_dir(cfg, runs_root=runs_root), pretrain_config(cfg)) is not None


def with_pretrained(
    cfg: RunConfig,
    *,
    runs_root: Path | str,
    device: torch.device | str = "cpu",
    progress: bool = True,
) -> RunConfig:
    """`cfg` as `resolve_weights` left it, the stand-in for ImageNet added: for
    `model.init="synthetic"` with no `model.weights`, the pre-trained backbone
    (`ensure_pretrained`), named in `model.weights` by its absolute path. Any other run (an
    ImageNet file, random weights, a transfer run, a file already given) is returned as it is,
    so an ImageNet file is hashed once, by the `resolve_weights` that comes before."""
    model = cfg.model
    if (
        model.init != "synthetic"
        or model.weights is not None
        or cfg.train.init_checkpoint is not None
    ):
        return cfg
    path = ensure_pretrained(cfg, runs_root=runs_root, device=device, progress=progress)
    check_hash(path)  # a damaged or replaced export is refused, as an ImageNet file would be
    return replace(cfg, model=replace(model, weights=str(path.resolve())))


def _exported(out: Path, pcfg: RunConfig) -> Path | None:
    """The backbone file a finished pre-training of `pcfg` by this code exported, or None."""
    record = out / RECORD
    if not record.is_file():
        return None
    made = json.loads(record.read_text())
    path = out / made["file"]
    same = made["digest"] == pcfg.digest() and made["code"] == code_version()
    return path if same and path.is_file() else None


def _export(trainer: Trainer, out: Path) -> Path:
    """Writes the trained backbone in the ImageNet layout (no prefix, no classifier), named by
    its SHA-256 prefix, and the record `_exported` reads; older exports are removed."""
    prefix = "backbone."
    state = {
        key.removeprefix(prefix): value.detach().cpu()
        for key, value in trainer.net.state_dict().items()
        if key.startswith(prefix)
    }
    fd, tmp = tempfile.mkstemp(prefix=".backbone.", suffix=".tmp", dir=out)
    with os.fdopen(fd, "wb") as fh:
        torch.save(state, fh)
    sha = hashlib.sha256(Path(tmp).read_bytes()).hexdigest()
    path = out / f"{trainer.cfg.model.backbone}-synthetic-{sha[:8]}.pth"
    os.replace(tmp, path)
    for old in out.glob("*-synthetic-*.pth"):
        if old != path:
            old.unlink()
    record = {"file": path.name, "digest": trainer.cfg.digest(), "code": code_version()}
    (out / RECORD).write_text(json.dumps(record, indent=2) + "\n")
    return path
