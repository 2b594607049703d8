"""Dataset statistics on a hand-made dataset whose counts are known by construction."""

from __future__ import annotations

from pathlib import Path

import pytest

from reidlib.data.base import VideoReIDDataset
from reidlib.data.stats import camera_counts, dataset_statistics, tracklet_lengths
from reidlib.types import Tracklet


def track(pid: int, camid: int, n: int) -> Tracklet:
    return Tracklet(tuple(Path(f"{pid}_{camid}_{i}.jpg") for i in range(n)), pid, camid)


def make(name: str) -> VideoReIDDataset:
    ds = VideoReIDDataset(
        root=Path("mini"),
        train=[track(0, 0, 3), track(0, 1, 5), track(1, 0, 2)],  # relabelled train pids 0, 1
        query=[track(7, 0, 4)],
        gallery=[track(7, 2, 6), track(0, 1, 1), track(1, 1, 2)],  # test pid 0: a distractor
    )
    ds.name = name
    return ds


def test_lengths_cover_every_tracklet_once():
    assert tracklet_lengths(make("mars")) == [3, 5, 2, 4, 6, 1, 2]


@pytest.mark.parametrize(
    ("name", "cam1_ids", "ids"),
    [
        # MARS: test pid 0 is the distractor class, not a person; train pid 1 and test pid 1 differ
        ("mars", 2, 4),
        ("prid2011", 3, 5),
    ],
)
def test_camera_counts_and_statistics(name, cam1_ids, ids):
    ds = make(name)
    counts = camera_counts(ds)
    assert counts.index.tolist() == [0, 1, 2]
    assert counts["tracklets"].tolist() == [3, 3, 1]
    # cam 0: train 0, train 1, test 7; cam 1: train 0, test 1 (+ test 0 unless MARS); cam 2: 7
    assert counts["ids"].tolist() == [3, cam1_ids, 1]
    stats = dataset_statistics(ds)
    assert stats == {
        "ids": ids,
        "tracklets": 7,
        "cameras": 3,
        "frames": 23,
        "min_len": 1,
        "mean_len": 3.3,
        "max_len": 6,
    }
