"""Command line: `python -m reidlib <command>` or the `reidlib` console script.

Commands: `make-synthetic`, `pretrain`, `check-data`, `train` (also under
`torchrun --nproc_per_node=N -m reidlib train`), `evaluate`, `embed`, `demo`. Errors in the
user's input (a file, a folder, a setting) end with a one-line message and exit status 1 (2 for
malformed arguments). Any other error (a CUDA out-of-memory, a bug) also ends in one line, which
names a log file holding its traceback; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path

from reidlib.cli.run import train_command
from reidlib.cli.tools import (
    check_data_command,
    demo_command,
    embed_command,
    evaluate_command,
    make_synthetic_command,
    pretrain_command,
)
from reidlib.threads import limit_spin_waits

PROG = "reidlib"
INPUT_ERRORS = (OSError, ValueError, KeyError)  # files, folders, settings: the user can fix them


def _add_run_options(p: argparse.ArgumentParser) -> None:
    from reidlib.config import DATASETS, PRESETS, PROFILES

    p.add_argument("--profile", default="quick", choices=PROFILES)
    p.add_argument("--dataset", default="mars", choices=DATASETS)
    p.add_argument(
        "--preset",
        help=(
            "a row of Table I, III or IV (or V's ImageNet row), or the recipe with one setting "
            f"changed (what_*): {', '.join(sorted(PRESETS))}"
        ),
    )
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
        "--seeds",
        metavar="SEEDS",
        help="training seeds, one run each, e.g. 0-2 (each seed's evaluation, then mean ± std)",
    )
    p.add_argument(
        "--fast-dev-run",
        type=int,
        metavar="N",
        help="N training steps and a small evaluation at the exact settings, then a report",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", help="show the traceback of an unexpected error"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, parents=[common])

    p = command("make-synthetic", help="write a synthetic dataset in a native layout")
    p.add_argument("--layout", default="mars", choices=["mars", "prid2011", "ilidsvid"])
    p.add_argument("--root", type=Path, required=True, help="a new or empty folder")
    p.add_argument(
        "--all",
        action="store_true",
        help="every layout at its defaults under ROOT/<layout>, reusing datasets already there",
    )
    p.add_argument("--num-ids", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=make_synthetic_command)

    p = command(
        "pretrain",
        help="pre-train the quick profile's stand-in backbones for ImageNet (kept when present)",
    )
    p.add_argument(
        "--backbones",
        nargs="+",
        default=["resnet50_ibn_a", "resnet50"],
        choices=["resnet50_ibn_a", "resnet50"],
        help="the backbones whose stand-in to pre-train (default both: Table I's two rows)",
    )
    p.add_argument("--runs-root", type=Path, default=Path("runs"), help="the runs folder")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=pretrain_command)

    p = command("check-data", help="open every frame of a dataset and verify its header")
    p.add_argument("--dataset", required=True, choices=["mars", "prid2011", "ilidsvid"])
    p.add_argument("--root", type=Path, required=True, help="dataset root in its native layout")
    p.add_argument("--split-id", type=int, default=0, help="split (PRID2011, iLIDS-VID)")
    p.add_argument("--workers", type=int, help="processes (default: the usable cores)")
    p.set_defaults(func=check_data_command)

    p = command("train", help="train a profile / preset (resumes when out has a run)")
    _add_run_options(p)
    p.set_defaults(func=train_command)

    p = command("evaluate", help="checkpoint + dataset -> metrics JSON with per-query ranks")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--dataset", choices=["mars", "prid2011", "ilidsvid"])
    p.add_argument("--root", type=Path, help="dataset root (default: the one trained on)")
    p.add_argument(
        "--all-clips",
        action="store_true",
        help="embed every dense clip: no cap at test time (41 clips, and the quick profile's 8 frames)",
    )
    p.add_argument("--out", type=Path, help="metrics JSON")
    p.add_argument("--device", default="auto")
    p.add_argument("--no-check-data", action="store_true", help="skip opening every frame first")
    p.set_defaults(func=evaluate_command)

    p = command("embed", help="tracklet folders -> features file")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("tracklets", nargs="+", type=Path, help="folders of frames, one per tracklet")
    p.add_argument("--out", type=Path, required=True, help="output .pt (tracklets, features)")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=embed_command)

    p = command("demo", help="build the network and summarise it on a synthetic clip")
    p.add_argument("--backbone", default="resnet50_ibn_a", choices=["resnet50", "resnet50_ibn_a"])
    p.add_argument("--num-classes", type=int, default=625)
    p.add_argument("--input-size", type=int, nargs=2, default=(224, 112), metavar=("H", "W"))
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--clip-len", type=int, default=4)
    p.set_defaults(func=demo_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    limit_spin_waits()  # before any command imports torch: runs sharing the CPU get their share
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except Exception as err:
        if args.debug:
            raise
        if isinstance(err, INPUT_ERRORS):
            message = err.args[0] if isinstance(err, KeyError) and err.args else err
            print(f"{PROG} {args.command}: error: {message}", file=sys.stderr)
            return 1
        log = _write_traceback(args.command)
        print(
            f"{PROG} {args.command}: error: {type(err).__name__}: {err} (traceback in {log}; "
            "--debug shows it here)",
            file=sys.stderr,
        )
        return 1


def _write_traceback(command: str) -> Path:
    """The current exception's traceback, written to a new file in the temporary folder."""
    with tempfile.NamedTemporaryFile(
        "w", prefix=f"{PROG}-{command}-", suffix=".log", delete=False
    ) as fh:
        fh.write(traceback.format_exc())
    return Path(fh.name)
