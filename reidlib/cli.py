"""Command line: `python -m reidlib <command>` or the `reidlib` console script."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def _demo(args: argparse.Namespace) -> int:
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
        out = net.forward_output(clips)
    print(f"embeddings {tuple(out.bn_feature.shape)}; attention weights (a_t, per clip):")
    for row in out.attention_weights:
        print("  " + " ".join(f"{w:.3f}" for w in row.tolist()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reidlib", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="build the network and summarise it on a synthetic clip")
    demo.add_argument(
        "--backbone", default="resnet50_ibn_a", choices=["resnet50", "resnet50_ibn_a"]
    )
    demo.add_argument("--num-classes", type=int, default=625)
    demo.add_argument("--input-size", type=int, nargs=2, default=(224, 112), metavar=("H", "W"))
    demo.add_argument("--batch", type=int, default=2)
    demo.add_argument("--clip-len", type=int, default=4)
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
