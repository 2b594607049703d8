"""Command line: `python -m reidlib <command>` or the `reidlib` console script.

Commands: `make-synthetic`, `check-data`, `train` (also under
`torchrun --nproc_per_node=N -m reidlib train`), `evaluate`, `embed`, `demo`. Errors in the
user's input end with a one-line message and exit status 1 (2 for malformed arguments).
"""

from __future__ import annotations

import argparse
import ast
import json
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

PROG = "reidlib"


def _parse_set(items: Sequence[str]) -> dict[str, dict[str, object]]:
    """`["train.epochs=2", "data.root=data/x"]` -> `{"train": {"epochs": 2}, ...}`."""
    overrides: dict[str, dict[str, object]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        section, dot, name = key.partition(".")
        if not sep or not dot:
            raise ValueError(f"--set {item!r}: expected SECTION.NAME=VALUE, e.g. train.epochs=2")
        try:
            value: object = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw  # plain strings need no quotes
        overrides.setdefault(section, {})[name] = value
    return overrides


def _absolute(path: Path | None) -> str | None:
    """A path the user typed, taken from the working directory as in every Unix tool."""
    return None if path is None else str(path.expanduser().absolute())


def _config(args: argparse.Namespace):
    """The run configuration from the profile / preset / config file and the flags, with the
    ImageNet file found and checked (a missing one stops here, before any data is read)."""
    from reidlib.config import RunConfig, load_profile, resolve_weights

    if args.config:
        config = Path(args.config)
        if not config.is_file():
            raise FileNotFoundError(f"{config}: config file not found (a run's config.json)")
        try:
            cfg = RunConfig.from_dict(json.loads(config.read_text()))
        except json.JSONDecodeError as err:
            raise ValueError(f"{config}: not valid JSON ({err})") from None
    else:
        cfg = load_profile(args.profile, dataset=args.dataset, preset=args.preset)
    if args.random_init and args.weights is not None:
        raise ValueError("--random-init and --weights contradict each other: give one")
    overrides = _parse_set(args.set or [])
    for section, key, value in (
        ("data", "root", _absolute(args.root)),
        ("train", "epochs", args.epochs),
        ("model", "weights", _absolute(args.weights)),
        ("model", "weights_dir", _absolute(args.weights_dir)),
        ("model", "init", "random" if args.random_init else None),
        ("train", "init_checkpoint", _absolute(args.init_checkpoint)),
    ):
        if value is not None:
            overrides.setdefault(section, {})[key] = value
    if args.root is not None:
        overrides["data"].setdefault("synthetic", False)  # a user's root is never written to
    return resolve_weights(cfg.with_overrides(**overrides))


def _train(args: argparse.Namespace) -> int:
    cfg = _config(args)  # bad settings and a missing weights file fail before torch is imported

    from reidlib.seeding import resolve_device

    device = resolve_device(args.device)
    _splits(args, cfg)  # a bad --splits fails before any work
    if args.fast_dev_run is not None:
        from reidlib.training.fast_dev_run import fast_dev_run, format_report

        out = Path(_absolute(args.out) or tempfile.mkdtemp(prefix="reidlib-fast-dev-run-"))
        report = fast_dev_run(
            cfg,
            steps=args.fast_dev_run,
            out_dir=out,
            device=device,
            check_data=not args.no_check_data,
        )
        print(format_report(report, out_dir=out))
        return 0

    from reidlib.training.runner import train

    splits = _splits(args, cfg)
    results = []
    for split in splits:
        run_cfg = cfg.with_overrides(data={"split_id": split})
        out = _absolute(args.out)  # None: runs/<dataset>-<digest>, the digest naming the weights
        out = Path(out) / f"split{split}" if out is not None and len(splits) > 1 else out
        trainer = train(
            run_cfg,
            out_dir=out,
            device=device,
            resume=not args.no_resume,
            check_data=not args.no_check_data,
        )
        if trainer.transfer is not None:
            print(trainer.transfer)
        last = trainer.history[-1]
        results.append({k: v for k, v in last.items() if k.startswith(("rank", "mAP"))})
        if trainer.dist.is_main:
            shown = {k: round(v, 2) for k, v in results[-1].items()}
            where = f"split {split}, " if run_cfg.data.dataset != "mars" else ""
            print(
                f"{cfg.name}: {where}{trainer.epoch} epochs in {trainer.out_dir}; last evaluation {shown}"
            )
    if len(splits) > 1 and trainer.dist.is_main:
        summary = {
            k: f"{statistics.mean(r[k] for r in results):.2f} ± {statistics.stdev(r[k] for r in results):.2f}"
            for k in results[0]
        }
        print(f"{cfg.name}: mean ± std over splits {splits[0]}-{splits[-1]}: {summary}")
    return 0


def _splits(args: argparse.Namespace, cfg) -> tuple[int, ...]:
    """The splits `--splits` asks for (PRID2011 and iLIDS-VID), else the configuration's one."""
    from reidlib.config import parse_splits

    if args.splits is None:
        return (cfg.data.split_id,)
    if cfg.data.dataset == "mars":
        raise ValueError(
            "--splits: MARS has one fixed query/gallery split; splits are for PRID2011 and iLIDS-VID"
        )
    if args.fast_dev_run is not None:
        raise ValueError(
            "--splits and --fast-dev-run go separately: a fast dev run checks one split"
        )
    return parse_splits(args.splits)


def _evaluate(args: argparse.Namespace) -> int:
    if not args.checkpoint.is_file():  # before the slow imports
        raise FileNotFoundError(f"{args.checkpoint}: checkpoint not found")

    from reidlib.data.transforms import build_test_transform
    from reidlib.evaluation.protocol import evaluate_tracklets
    from reidlib.seeding import resolve_device
    from reidlib.training.runner import load_dataset, load_trained

    net, cfg = load_trained(args.checkpoint, device=resolve_device(args.device))
    overrides: dict[str, object] = {}
    if args.root is not None:
        overrides |= {"root": _absolute(args.root), "synthetic": False}
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
        max_clips=None if args.all_clips else data.test_max_clips,
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


def _embed(args: argparse.Namespace) -> int:
    import torch

    from reidlib.data.io import list_frames
    from reidlib.data.transforms import build_test_transform
    from reidlib.evaluation.features import extract_features
    from reidlib.seeding import resolve_device
    from reidlib.training.runner import load_trained
    from reidlib.types import Tracklet

    net, cfg = load_trained(args.checkpoint, device=resolve_device(args.device))
    tracklets = [Tracklet(tuple(list_frames(Path(folder))), -1, -1) for folder in args.tracklets]
    features = extract_features(
        net,
        tracklets,
        transform=build_test_transform(size=(cfg.data.height, cfg.data.width)),
        clip_len=cfg.data.clip_len,
        max_clips=cfg.data.test_max_clips,
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {"tracklets": [str(f) for f in args.tracklets], "features": features.cpu()}, args.out
    )
    print(f"{len(tracklets)} tracklet embeddings {tuple(features.shape)} -> {args.out}")
    return 0


def _make_synthetic(args: argparse.Namespace) -> int:
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


def _check_data(args: argparse.Namespace) -> int:
    """Opens every frame a run on the dataset reads; exit status 1 with the list if any fails."""
    from reidlib.data import build_dataset, check_dataset

    kwargs = {} if args.dataset == "mars" else {"split_id": args.split_id}
    check = check_dataset(build_dataset(args.dataset, args.root, **kwargs), workers=args.workers)
    print(check.summary())
    check.raise_if_problems()
    return 0


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
        out = net(clips)
    print(f"embeddings {tuple(out.bn_feature.shape)}; attention weights (a_t, per clip):")
    for row in out.attention_weights:
        print("  " + " ".join(f"{w:.3f}" for w in row.tolist()))
    return 0


def _add_run_options(p: argparse.ArgumentParser) -> None:
    from reidlib.config import DATASETS, PRESETS, PROFILES

    p.add_argument("--profile", default="quick", choices=PROFILES)
    p.add_argument("--dataset", default="mars", choices=DATASETS)
    p.add_argument("--preset", choices=sorted(PRESETS), help="a row of Table I, III, IV or V")
    p.add_argument("--config", type=Path, help="a config.json written by an earlier run")
    p.add_argument("--root", type=Path, help="dataset root in its native layout")
    p.add_argument("--epochs", type=int)
    p.add_argument(
        "--weights",
        type=Path,
        help="the backbone's ImageNet file (default: found in --weights-dir)",
    )
    p.add_argument(
        "--weights-dir",
        type=Path,
        help="folder holding the official ImageNet files (default data/weights)",
    )
    p.add_argument(
        "--random-init",
        action="store_true",
        help="train from random weights instead of ImageNet or the quick profile's stand-in "
        "(recorded as init 'random')",
    )
    p.add_argument("--init-checkpoint", type=Path, help="transfer learning: a reidlib checkpoint")
    p.add_argument("--set", action="append", metavar="SECTION.NAME=VALUE", help="any setting")
    p.add_argument(
        "--out",
        type=Path,
        help="run folder (default runs/<dataset>-<digest>; a temporary folder with --fast-dev-run)",
    )
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--no-resume", action="store_true", help="start afresh even if out has a run")
    p.add_argument(
        "--no-check-data",
        action="store_true",
        help="skip opening every frame before the first step (reidlib check-data)",
    )
    p.add_argument(
        "--splits",
        metavar="SPLITS",
        help="PRID2011 / iLIDS-VID splits to train and report, e.g. 0-9 (mean ± std) or 0,3",
    )
    p.add_argument(
        "--fast-dev-run",
        type=int,
        metavar="N",
        help="N training steps and a small evaluation at the exact settings, then a report",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("make-synthetic", help="write a synthetic dataset in a native layout")
    p.add_argument("--layout", default="mars", choices=["mars", "prid2011", "ilidsvid"])
    p.add_argument("--root", type=Path, required=True, help="a new or empty folder")
    p.add_argument(
        "--all",
        action="store_true",
        help="every layout at its defaults under ROOT/<layout>, reusing datasets already there",
    )
    p.add_argument("--num-ids", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_make_synthetic)

    p = sub.add_parser("check-data", help="open every frame of a dataset and verify its header")
    p.add_argument("--dataset", required=True, choices=["mars", "prid2011", "ilidsvid"])
    p.add_argument("--root", type=Path, required=True, help="dataset root in its native layout")
    p.add_argument("--split-id", type=int, default=0, help="split (PRID2011, iLIDS-VID)")
    p.add_argument("--workers", type=int, help="processes (default: the usable cores)")
    p.set_defaults(func=_check_data)

    p = sub.add_parser("train", help="train a profile / preset (resumes when out has a run)")
    _add_run_options(p)
    p.set_defaults(func=_train)

    p = sub.add_parser("evaluate", help="checkpoint + dataset -> metrics JSON with per-query ranks")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--dataset", choices=["mars", "prid2011", "ilidsvid"])
    p.add_argument("--root", type=Path, help="dataset root (default: the one trained on)")
    p.add_argument("--all-clips", action="store_true", help="no 41-clip cap at test time")
    p.add_argument("--out", type=Path, help="metrics JSON")
    p.add_argument("--device", default="auto")
    p.add_argument("--no-check-data", action="store_true", help="skip opening every frame first")
    p.set_defaults(func=_evaluate)

    p = sub.add_parser("embed", help="tracklet folders -> features file")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("tracklets", nargs="+", type=Path, help="folders of frames, one per tracklet")
    p.add_argument("--out", type=Path, required=True, help="output .pt (tracklets, features)")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=_embed)

    p = sub.add_parser("demo", help="build the network and summarise it on a synthetic clip")
    p.add_argument("--backbone", default="resnet50_ibn_a", choices=["resnet50", "resnet50_ibn_a"])
    p.add_argument("--num-classes", type=int, default=625)
    p.add_argument("--input-size", type=int, nargs=2, default=(224, 112), metavar=("H", "W"))
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--clip-len", type=int, default=4)
    p.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (OSError, ValueError, KeyError, RuntimeError) as err:  # files, folders, settings
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"{PROG} {args.command}: error: {message}", file=sys.stderr)
        return 1
