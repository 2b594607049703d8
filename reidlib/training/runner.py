"""From a configuration to a trained run (`train`), and a trained run back to its network
(`load_trained`)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from reidlib.config import RunConfig
from reidlib.data import VideoReIDDataset
from reidlib.network import build_network
from reidlib.training.build import RUNS_ROOT, build_run
from reidlib.training.checkpoint import load_checkpoint
from reidlib.training.trainer import Trainer


def train(
    cfg: RunConfig,
    *,
    out_dir: Path | str | None = None,
    runs_root: Path | str = RUNS_ROOT,
    device: torch.device | str = "cpu",
    progress: bool = True,
    resume: bool = True,
    check_data: bool = True,
    dataset: VideoReIDDataset | None = None,
) -> Trainer:
    """Builds `cfg` (`build_run`), trains it into `out_dir` (default `run_dir(cfg, runs_root)`)
    and returns the finished trainer.

    A run whose folder already holds a finished checkpoint of the same settings is not
    retrained: `fit` resumes at the last epoch and returns at once (the notebooks' cache).
    """
    trainer = build_run(
        cfg,
        dataset,
        device=device,
        runs_root=runs_root,
        out_dir=out_dir,
        progress=progress,
        check_data=check_data,
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
