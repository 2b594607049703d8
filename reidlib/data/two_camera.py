"""Train/query/gallery of the two-camera datasets (PRID2011, iLIDS-VID) from a list of people.

Both datasets store one folder per person and camera; a split names the people for training
(both cameras) and for testing (first camera = query, second camera = gallery), so each query
has exactly one true match.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from reidlib.data.base import relabel
from reidlib.data.errors import DatasetError
from reidlib.data.io import scan_frames
from reidlib.types import Tracklet


class TwoCameraSplits(NamedTuple):
    """The three splits, and the entries of their tracklet folders that are not frames."""

    train: list[Tracklet]  # both cameras; pids relabelled `0..N-1`
    query: list[Tracklet]  # first camera, camid 0
    gallery: list[Tracklet]  # second camera, camid 1
    ignored: list[Path]  # hidden and non-image entries (see `reidlib.data.io.scan_frames`)


def person_pids(dirnames: Sequence[str]) -> dict[str, int]:
    """A pid for each person folder: its trailing number (`person_0042` -> 42) when every name
    has a distinct one, else its position in sorted order."""
    numbers = [re.search(r"(\d+)$", d) for d in dirnames]
    pids = [int(m.group(1)) for m in numbers if m]
    if len(pids) == len(dirnames) and len(set(pids)) == len(pids):
        return dict(zip(dirnames, pids))
    return {d: i for i, d in enumerate(sorted(dirnames))}


def two_camera_splits(
    cam_dirs: tuple[Path, Path],
    *,
    train: Sequence[str],
    test: Sequence[str],
    source: Path,
) -> TwoCameraSplits:
    """Builds the three splits from the person folders a split file names.

    Args:
        cam_dirs: the first (query) and second (gallery) camera's folder.
        train: person folder names for training; both cameras are used.
        test: person folder names for testing.
        source: the split file, named in errors.

    Returns:
        The splits, with the non-frame entries of the folders read.
    """
    overlap = sorted(set(train) & set(test))
    if overlap:
        raise DatasetError(f"{source}: people {overlap[:3]} are in both train and test")
    tracklets: dict[str, list[Tracklet]] = {"train": [], "query": [], "gallery": []}
    ignored: list[Path] = []
    for split, names in (("train", train), ("test", test)):
        pids = person_pids(names)
        for name in sorted(names):
            for camid, cam_dir in enumerate(cam_dirs):
                folder = cam_dir / name
                if not folder.is_dir():
                    raise FileNotFoundError(
                        f"{folder}: folder missing; {source} lists {name!r} for {split}"
                    )
                out = split if split == "train" else ("query", "gallery")[camid]
                listing = scan_frames(folder)
                tracklets[out].append(Tracklet(listing.frames, pids[name], camid))
                ignored += listing.ignored
    for split, items in tracklets.items():
        if not items:
            raise DatasetError(f"{source}: defines no {split} tracklets; expected at least one")
    return TwoCameraSplits(
        relabel(tracklets["train"]), tracklets["query"], tracklets["gallery"], ignored
    )
