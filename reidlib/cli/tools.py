"""The other commands: `evaluate`, `embed`, `make-synthetic`, `pretrain`, `check-data`, `demo`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from reidlib.cli.run import absolute


def evaluate_command(args: argparse.Namespace) -> int:
    if not args.checkpoint.is_file():  # before the slow imports
        raise FileNotFoundError(f"{args.checkpoint}: checkpoint not found")

    from reidlib.data.transforms import build_test_transform
    from reidlib.evaluation.protocol import evaluate_tracklets
    from reidlib.seeding import resolve_device
    from reidlib.training import load_dataset, load_trained

    net, cfg = load_trained(args.checkpoint, device=resolve_device(args.device))
    overrides: dict[str, object] = {}
    if args.root is not None:
        overrides |= {"root": absolute(args.root), "synthetic": False}
    if args.dataset is not None:
        overrides["dataset"] = args.dataset
    data = cfg.with_overrides(data=overrides).data
    dataset = load_dataset(data, check=not args.no_check_data)
    ev = evaluate_tracklets(
        net,
        dataset.query,
        dataset.gallery,
        transform=build_test_transform(size=(data.height, data.width)),
        clip_len=data.clip_len,
        max_clips=None if args.all_clips else data.test_clips,
        num_workers=data.num_workers,
    )
    report = {"checkpoint": str(args.checkpoint), "dataset": data.dataset, "root": data.root}
    report |= ev.metrics
    res = ev.result
    report["per_query"] = [
        {
            "query_first_frame": str(dataset.query[i].frames[0]),
            "pid": dataset.query[i].pid,
            "camid": dataset.query[i].camid,
            "first_match_rank": int(res.first_match_rank[i]),
            "average_precision": float(res.average_precision[i]) if res.valid[i] else None,
            "top_gallery": [int(g) for g in res.top_indices[i]],
        }
        for i in range(len(dataset.query))
    ]
    text = json.dumps(report, indent=2)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
    print(json.dumps({k: v for k, v in report.items() if k != "per_query"}, indent=2))
    return 0


def embed_command(args: argparse.Namespace) -> int:
    import torch

    from reidlib.data.io import list_frames
    from reidlib.data.transforms import build_test_transform
    from reidlib.evaluation.features import extract_features
    from reidlib.seeding import resolve_device
    from reidlib.training import load_trained
    from reidlib.types import Tracklet

    net, cfg = load_trained(args.checkpoint, device=resolve_device(args.device))
    tracklets = [Tracklet(tuple(list_frames(Path(folder))), -1, -1) for folder in args.tracklets]
    features = extract_features(
        net,
        tracklets,
        transform=build_test_transform(size=(cfg.data.height, cfg.data.width)),
        clip_len=cfg.data.clip_len,
        max_clips=cfg.data.test_clips,
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {"tracklets": [str(f) for f in args.tracklets], "features": features.cpu()}, args.out
    )
    print(f"{len(tracklets)} tracklet embeddings {tuple(features.shape)} -> {args.out}")
    return 0


def make_synthetic_command(args: argparse.Namespace) -> int:
    from reidlib.data import ensure_synthetic, make_synthetic

    if args.all:  # the quick profile's defaults, kept when already there
        for layout in ("mars", "prid2011", "ilidsvid"):
            root = ensure_synthetic(Path(args.root) / layout, layout=layout)
            print(f"synthetic {layout} dataset at {root}")
        return 0
    kwargs = {"layout": args.layout, "seed": args.seed}
    if args.num_ids is not None:
        kwargs["num_ids"] = args.num_ids
    root = make_synthetic(Path(args.root), **kwargs)
    print(f"synthetic {args.layout} dataset written to {root}")
    return 0


def pretrain_command(args: argparse.Namespace) -> int:
    """Pre-trains the quick profile's stand-in backbones that are missing, side by side on a
    CPU (`reidlib.training.side_by_side`), and names each file."""
    from reidlib.config import load_profile
    from reidlib.seeding import resolve_device
    from reidlib.training import ensure_pretrained
    from reidlib.training.side_by_side import pretrain_side_by_side

    device = resolve_device(args.device)
    quick = load_profile("quick")
    cfgs = [quick.with_overrides(model={"backbone": name}) for name in args.backbones]
    if device.type == "cpu":
        pretrain_side_by_side(cfgs, runs_root=args.runs_root)
    for cfg in cfgs:  # read back, or pre-trained here (one left, a GPU, or one thread)
        path = ensure_pretrained(cfg, runs_root=args.runs_root, device=device)
        print(f"{cfg.model.backbone}: stand-in backbone at {path}")
    return 0


def check_data_command(args: argparse.Namespace) -> int:
    """Opens every frame a run on the dataset reads; exit status 1 with the list if any fails."""
    from reidlib.data import build_dataset, check_dataset

    dataset = build_dataset(args.dataset, args.root, split_id=args.split_id)
    check = check_dataset(dataset, workers=args.workers)
    print(check.summary())
    check.raise_if_problems()
    return 0


def demo_command(args: argparse.Namespace) -> int:
    """Builds the paper's network and runs one synthetic clip batch through it."""
    import torch
    from torchinfo import summary

    from reidlib.network import build_network

    height, width = args.input_size
    net = build_network(
        backbone=args.backbone, num_classes=args.num_classes, input_size=(height, width)
    ).eval()
    clips = torch.randn(args.batch, args.clip_len, 3, height, width)
    print(
        summary(
            net,
            input_data=[clips],
            depth=2,
            col_names=("input_size", "output_size", "num_params"),
            verbose=0,
        )
    )
    with torch.no_grad():
        out = net(clips)
    print(f"embeddings {tuple(out.bn_feature.shape)}; attention weights (a_t, per clip):")
    for row in out.attention_weights:
        print("  " + " ".join(f"{w:.3f}" for w in row.tolist()))
    return 0
