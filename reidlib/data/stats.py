"""Counts that describe a loaded dataset: tracklet lengths, identities and tracklets per camera.

Training pids are relabelled `0..N-1` while query and gallery keep their original pids, so the
same number can name two people; identities are therefore counted as `(train|test, pid)`.
MARS's pid 0 (distractors) is not a person and is left out of identity counts (its tracklets
are still counted).
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from reidlib.data.base import VideoReIDDataset
from reidlib.types import Tracklet

SPLITS = ("train", "query", "gallery")


def _labelled(dataset: VideoReIDDataset) -> Iterator[tuple[str, Tracklet]]:
    for split in SPLITS:
        for t in getattr(dataset, split):
            yield split, t


def tracklet_lengths(dataset: VideoReIDDataset) -> list[int]:
    """Frames in every tracklet of train, query and gallery (each tracklet once)."""
    return [len(t.frames) for _, t in _labelled(dataset)]


def camera_counts(dataset: VideoReIDDataset) -> pd.DataFrame:
    """Tracklets and identities seen by each camera, over all splits.

    Returns:
        One row per camid (0-based, ascending): `tracklets` and `ids` (distinct persons,
        train and test counted apart, MARS distractors left out).
    """
    rows: dict[int, dict[str, set | int]] = {}
    for split, t in _labelled(dataset):
        row = rows.setdefault(t.camid, {"tracklets": 0, "ids": set()})
        row["tracklets"] += 1
        person = identity(dataset, split, t)
        if person is not None:
            row["ids"].add(person)
    table = pd.DataFrame(
        [
            {"camid": cam, "tracklets": r["tracklets"], "ids": len(r["ids"])}
            for cam, r in sorted(rows.items())
        ]
    )
    return table.set_index("camid")


def identity(dataset: VideoReIDDataset, split: str, t: Tracklet) -> tuple[str, int] | None:
    """`(train|test, pid)` of a tracklet; None for MARS's pid 0 distractors in the test set."""
    if split != "train" and dataset.name == "mars" and t.pid == 0:
        return None
    return ("train" if split == "train" else "test", t.pid)


def dataset_statistics(dataset: VideoReIDDataset) -> dict[str, float]:
    """What §IV-A of the paper reports for each dataset, counted on the loaded splits.

    Returns:
        `ids` (persons, see the module docstring), `tracklets`, `cameras`, `frames`,
        `min_len`, `mean_len`, `max_len`.
    """
    labelled = list(_labelled(dataset))
    lengths = pd.Series([len(t.frames) for _, t in labelled], dtype="int64")
    persons = {identity(dataset, split, t) for split, t in labelled} - {None}
    return {
        "ids": len(persons),
        "tracklets": len(labelled),
        "cameras": len({t.camid for _, t in labelled}),
        "frames": int(lengths.sum()),
        "min_len": int(lengths.min()),
        "mean_len": round(float(lengths.mean()), 1),
        "max_len": int(lengths.max()),
    }
