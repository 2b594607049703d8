"""One training step on a fixed global batch, run by tests/test_training.py.

Launched either as a single process or by torchrun with 2 processes (gloo, CPU); each process
takes its slice of the same global batch and writes the logged loss terms and a few updated
parameters to OUT_DIR/rank<r>.pt. BatchNorm statistics are frozen (eval mode): SyncBatchNorm,
which the trainer uses under DDP on CUDA, does not run on CPU, and per-process batch statistics
would otherwise differ from the single-process batch by design.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from torch.nn.modules.batchnorm import _BatchNorm

from reidlib.config import RunConfig
from reidlib.training import build_run, load_dataset

PARAMS = ("backbone.conv1.weight", "temporal.spatial_conv.weight", "head.classifier.weight")


def main(cfg_path: str, out_dir: str) -> None:
    cfg = RunConfig.from_dict(json.loads(Path(cfg_path).read_text()))
    dataset = load_dataset(cfg.data, progress=False)
    trainer = build_run(cfg, dataset, device="cpu", progress=False)
    for m in trainer.net.modules():
        if isinstance(m, _BatchNorm):
            m.eval()
    g = torch.Generator().manual_seed(123)
    b, t = cfg.data.num_ids_per_batch * cfg.data.num_instances, cfg.data.clip_len
    clips = torch.randn(b, t, 3, cfg.data.height, cfg.data.width, generator=g)
    pids = torch.arange(cfg.data.num_ids_per_batch).repeat_interleave(cfg.data.num_instances)
    erased = (torch.rand(b, t, generator=g) < 0.5).float()
    world, rank = trainer.dist.world_size, trainer.dist.rank
    part = slice(rank * b // world, (rank + 1) * b // world)
    terms = trainer.train_step(clips[part], pids[part], erased[part])
    terms = {k: v for k, v in sorted(terms.items())}
    if world > 1:
        from reidlib.training.distributed import average_across_ranks

        terms = average_across_ranks(terms, device=torch.device("cpu"))
    state = trainer.net.state_dict()
    torch.save(
        {
            "terms": terms,
            "params": {k: state[k] for k in PARAMS},
            "centers": trainer.step.criterion.center.centers.detach(),
        },
        Path(out_dir) / f"rank{rank}.pt",
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
