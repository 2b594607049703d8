"""`reidlib train`: a profile, preset or config file and the flags -> a run (or a fast dev run),
per split for PRID2011 and iLIDS-VID."""

from __future__ import annotations

import argparse
import ast
import json
import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path


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


def absolute(path: Path | None) -> str | None:
    """A path the user typed, taken from the working directory as in every Unix tool."""
    return None if path is None else str(path.expanduser().absolute())


def _config(args: argparse.Namespace):
    """The run configuration from the profile / preset / config file and the flags."""
    from reidlib.config import RunConfig, load_profile

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
        ("data", "root", absolute(args.root)),
        ("train", "epochs", args.epochs),
        ("model", "weights", absolute(args.weights)),
        ("model", "weights_dir", absolute(args.weights_dir)),
        ("model", "init", "random" if args.random_init else None),
        ("train", "init_checkpoint", absolute(args.init_checkpoint)),
    ):
        if value is not None:
            overrides.setdefault(section, {})[key] = value
    if args.root is not None:
        overrides["data"].setdefault("synthetic", False)  # a user's root is never written to
    return cfg.with_overrides(**overrides)


def train_command(args: argparse.Namespace) -> int:
    cfg = _config(args)  # bad settings fail before torch is imported

    from reidlib.seeding import resolve_device

    device = resolve_device(args.device)
    splits = _splits(args, cfg)  # a bad --splits or --seeds fails before any work
    seeds = _seeds(args, cfg)
    if args.fast_dev_run is not None:
        from reidlib.training.fast_dev_run import fast_dev_run, format_report

        out = Path(absolute(args.out) or tempfile.mkdtemp(prefix="reidlib-fast-dev-run-"))
        report = fast_dev_run(
            cfg,
            steps=args.fast_dev_run,
            out_dir=out,
            device=device,
            check_data=not args.no_check_data,
        )
        print(format_report(report, out_dir=out))
        return 0

    from reidlib.config import has_splits
    from reidlib.evaluation.attention import AttentionHealth
    from reidlib.results import listed_ids
    from reidlib.training import train

    results = []
    several = len(splits) * len(seeds) > 1
    for seed in seeds:
        for split in splits:
            run_cfg = cfg.with_overrides(data={"split_id": split}, train={"seed": seed})
            out = absolute(args.out)  # None: runs/<dataset>-<digest>, the digest naming the weights
            if out is not None and several:
                out = Path(out) / "_".join(
                    part
                    for part, many in (
                        (f"split{split}", len(splits) > 1),
                        (f"seed{seed}", len(seeds) > 1),
                    )
                    if many
                )
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
                where = f"split {split}, " if has_splits(run_cfg.data.dataset) else ""
                where += f"seed {seed}, " if len(seeds) > 1 else ""
                print(
                    f"{cfg.name}: {where}{trainer.epoch} epochs in {trainer.out_dir}; "
                    f"last evaluation {shown}"
                )
                if "attention" in last:
                    print(
                        f"{cfg.name}: {where}{AttentionHealth.from_json(last['attention']).describe()}"
                    )
    if several and trainer.dist.is_main:
        summary = {
            k: f"{statistics.mean(r[k] for r in results):.2f} ± {statistics.stdev(r[k] for r in results):.2f}"
            for k in results[0]
        }
        over = " and ".join(
            f"{name} {listed_ids(ids)}"
            for name, ids in (("splits", splits), ("seeds", seeds))
            if len(ids) > 1
        )
        print(f"{cfg.name}: mean ± std over {over}: {summary}")
    return 0


def _splits(args: argparse.Namespace, cfg) -> tuple[int, ...]:
    """The splits `--splits` asks for (PRID2011 and iLIDS-VID), else the configuration's one."""
    from reidlib.config import has_splits, parse_splits

    if args.splits is None:
        return (cfg.data.split_id,)
    if not has_splits(cfg.data.dataset):
        raise ValueError(
            "--splits: MARS has one fixed query/gallery split; splits are for PRID2011 and iLIDS-VID"
        )
    if args.fast_dev_run is not None:
        raise ValueError(
            "--splits and --fast-dev-run go separately: a fast dev run checks one split"
        )
    return parse_splits(args.splits)


def _seeds(args: argparse.Namespace, cfg) -> tuple[int, ...]:
    """The training seeds `--seeds` asks for, one run each, else the configuration's one."""
    from reidlib.config import parse_seeds

    if args.seeds is None:
        return (cfg.train.seed,)
    if args.fast_dev_run is not None:
        raise ValueError("--seeds and --fast-dev-run go separately: a fast dev run checks one seed")
    return parse_seeds(args.seeds)
