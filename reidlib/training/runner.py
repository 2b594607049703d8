"""From a configuration to a trained run: dataset, trainer, cached results."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from reidlib.config import DataConfig, RunConfig, resolve_weights
from reidlib.data import build_dataset, check_dataset, ensure_synthetic
from reidlib.network import build_network
from reidlib.training.checkpoint import load_checkpoint
from reidlib.training.pretrain import with_pretrained
from reidlib.training.trainer import Trainer

RUNS_ROOT = Path("runs")


def load_dataset(data: DataConfig, *, progress: bool = True, check: bool = False):
    """Loads `data.dataset` from `data.root`, generating the synthetic default first if asked;
    with `check`, every frame a run reads is opened and verified first (`check_dataset`), so a
    damaged frame stops the run before its first step, not at its first evaluation.

    A relative `data.root` is taken from the working directory, as every path a user types;
    notebooks make theirs absolute against their own repository first (`reidlib.notebook`)."""
    root = Path(data.root)
    if data.synthetic:
        ensure_synthetic(root, layout=data.dataset, progress=progress)
    kwargs = {} if data.dataset == "mars" else {"split_id": data.split_id}
    dataset = build_dataset(data.dataset, root, **kwargs)
    if check:
        check_dataset(dataset, progress=progress).raise_if_problems()
    return dataset


def run_dir(cfg: RunConfig, root: Path | str = RUNS_ROOT) -> Path:
    """`<root>/<dataset>-<digest>`: runs with the same settings share a folder (and a cache),
    whatever they are named (the base run and each table's base row are one run)."""
    return Path(root) / f"{cfg.data.dataset}-{cfg.digest()}"


def train(
    cfg: RunConfig,
    *,
    out_dir: Path | str | None = None,
    runs_root: Path | str = RUNS_ROOT,
    device: torch.device | str = "cpu",
    progress: bool = True,
    resume: bool = True,
    check_data: bool = True,
    dataset=None,
) -> Trainer:
    """Trains `cfg` into `out_dir` (default `run_dir(cfg, runs_root)`) and returns the finished
    trainer.

    A run whose folder already holds a finished checkpoint of the same settings is not
    retrained: `fit` resumes at the last epoch and returns at once (the notebooks' cache).
    The ImageNet weights the run needs are found and checked before any data is read, and
    with `check_data` every frame of the dataset is verified before the first step. For
    `model.init="synthetic"` the backbone pre-trained on synthetic identities is trained into
    `runs_root` the first time, once the run's own data have loaded (`with_pretrained`).
    """
    cfg = resolve_weights(cfg)
    if dataset is None:
        dataset = load_dataset(cfg.data, progress=progress, check=check_data)
    cfg = with_pretrained(cfg, runs_root=runs_root, device=device, progress=progress)
    trainer = Trainer(
        cfg,
        dataset,
        out_dir=out_dir if out_dir is not None else run_dir(cfg, runs_root),
        device=device,
        progress=progress,
    )
    trainer.fit(resume=resume)
    return trainer


def load_trained(path: Path | str, *, device: torch.device | str = "cpu"):
    """The network of a reidlib checkpoint, in eval mode, and the configuration it was trained
    with. Returns `(net, cfg)`."""
    state = load_checkpoint(path)
    cfg = RunConfig.from_dict(json.loads(state["config"]))
    net = build_network(
        backbone=cfg.model.backbone,
        num_classes=int(state["num_classes"]),
        input_size=(cfg.data.height, cfg.data.width),
        temporal=cfg.model.temporal,
        last_stride=cfg.model.last_stride,
        eq1_form=cfg.model.eq1_form,
    )
    net.load_state_dict(state["model"])
    return net.to(device).eval(), cfg
