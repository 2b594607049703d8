"""Checkpoints: written atomically, read back with `weights_only=True`.

A checkpoint holds only tensors, numbers, strings, lists and dicts (the configuration and the
epoch log as JSON strings), so reading one cannot run code, and a run killed at any moment leaves
either the previous complete file or the new one, never a torn file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn

FORMAT = "reidlib-checkpoint-1"
CLASSIFIER_PREFIX = "head.classifier."


def save_checkpoint(state: dict[str, Any], path: Path | str) -> None:
    """Writes `state` to `path` atomically (temporary file in the same folder, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save({"format": FORMAT, **state}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def link_checkpoint(source: Path | str, path: Path | str) -> None:
    """Makes `path` a hard link to the finished checkpoint `source` (a copy where the file
    system has no hard links), atomically: `path` is the old file or the new one, never torn.
    Replacing `source` later leaves `path` as it is."""
    source, path = Path(source), Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        os.unlink(tmp)
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: Path | str) -> dict[str, Any]:
    """Reads a reidlib checkpoint (weights only: no pickled objects, no code).

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: the file is not a reidlib checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(f"{path}: not a readable weights-only checkpoint ({err})") from err
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path}: not a reidlib checkpoint (expected format {FORMAT!r})")
    return state


class TransferReport(NamedTuple):
    """What `load_transfer` took from a checkpoint and what it left behind."""

    source: str
    loaded: list[str]  # parameter and buffer names copied into the network
    dropped: list[str]  # names in the checkpoint that were not copied (the old classifier)
    reinitialised: list[str]  # names of the network left at their fresh initialisation

    def __str__(self) -> str:
        return (
            f"transfer from {self.source}: loaded {len(self.loaded)} tensors "
            f"(backbone, temporal attention, BNNeck with running statistics); "
            f"dropped {self.dropped}; re-initialised {self.reinitialised}; "
            "center-loss centers, optimiser and schedule start afresh"
        )


def load_transfer(net: nn.Module, path: Path | str) -> TransferReport:
    """Initialises `net` from a network trained on another dataset (Table V).

    Everything but the classifier is copied (its number of identities differs); the classifier
    keeps its fresh initialisation (docs/decisions.md §6). Any other missing or unexpected key is an
    error naming the file.

    Args:
        net: the network to initialise (a `VideoReIDNet`).
        path: a reidlib checkpoint (`last.pt`, `best.pt`) or a plain network state dict file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: transfer checkpoint not found")
    raw = torch.load(path, map_location="cpu", weights_only=True)
    state = raw["model"] if isinstance(raw, dict) and raw.get("format") == FORMAT else raw
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a reidlib checkpoint or a network state dict")
    dropped = sorted(k for k in state if k.startswith(CLASSIFIER_PREFIX))
    kept = {k: v for k, v in state.items() if not k.startswith(CLASSIFIER_PREFIX)}
    own = net.state_dict()
    shapes = [k for k, v in kept.items() if k in own and tuple(v.shape) != tuple(own[k].shape)]
    if shapes:
        raise ValueError(
            f"{path}: tensor shapes differ for {shapes[:6]} (was the source trained with another "
            "backbone or input size?)"
        )
    missing, unexpected = net.load_state_dict(kept, strict=False)
    if sorted(missing) != [f"{CLASSIFIER_PREFIX}weight"] or unexpected:
        raise KeyError(
            f"{path}: keys do not match the network; missing {sorted(missing)[:8]}, "
            f"unexpected {sorted(unexpected)[:8]}"
        )
    return TransferReport(str(path), sorted(kept), dropped, sorted(missing))
