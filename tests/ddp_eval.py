"""Dense-clip evaluation of a seeded network, run by tests/test_training.py.

Launched either as a single process or by torchrun with 2 processes (gloo, CPU); each process
embeds its share of the query and gallery tracklets, the features are gathered, and every
process writes what it got (features and metrics) to OUT_DIR/rank<r>.pt.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from reidlib.config import RunConfig
from reidlib.data.transforms import build_test_transform
from reidlib.evaluation import protocol
from reidlib.evaluation.protocol import evaluate_tracklets
from reidlib.network import build_network
from reidlib.training import load_dataset
from reidlib.training.distributed import DistInfo, init_distributed


def main(cfg_path: str, out_dir: str) -> None:
    cfg = RunConfig.from_dict(json.loads(Path(cfg_path).read_text()))
    info = DistInfo.from_env()
    init_distributed(info, torch.device("cpu"))
    dataset = load_dataset(cfg.data, progress=False)
    torch.manual_seed(0)
    size = (cfg.data.height, cfg.data.width)
    net = build_network(num_classes=dataset.num_train_pids, input_size=size).eval()
    embedded: list[int] = []  # how many tracklets this process embeds itself
    extract = protocol.extract_features
    protocol.extract_features = lambda net, tracklets, **kw: (
        embedded.append(len(tracklets)) or extract(net, tracklets, **kw)
    )
    ev = evaluate_tracklets(
        net,
        dataset.query,
        dataset.gallery,
        transform=build_test_transform(size=size),
        clip_len=cfg.data.clip_len,
        max_clips=cfg.data.test_clips,
        chunk=3,  # clips of several tracklets share a pass, differently in each share
        progress=False,
    )
    torch.save(
        {"q": ev.q_features, "g": ev.g_features, "metrics": ev.metrics, "embedded": embedded},
        Path(out_dir) / f"rank{info.rank}.pt",
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
