"""MARS, PRID2011 and iLIDS-VID loaders on hand-written miniature layouts."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from reidlib.data import (
    DATASETS,
    ILIDSVID,
    PRID2011,
    Mars,
    Tracklet,
    build_dataset,
    read_frame,
)
from reidlib.types import Tracklet as TypesTracklet
from tests.data_builders import build_mini_ilids, build_mini_mars, build_mini_prid, mars_name


def frame_values(tracklet: Tracklet) -> list[int]:
    return [int(np.asarray(read_frame(f))[0, 0, 0]) for f in tracklet.frames]


def test_tracklet_is_reexported():
    assert Tracklet is TypesTracklet


@pytest.mark.parametrize("query_dtype", [np.int32, np.float64])
def test_mars_splits_ids_and_cameras(tmp_path, query_dtype):
    root = build_mini_mars(tmp_path / "mars", query_dtype=query_dtype)
    data = Mars(root)
    # train: pids 5, 9, 12 relabelled 0, 1, 2 in pid order; cameras 1-based -> 0-based
    assert [(t.pid, t.camid, len(t.frames)) for t in data.train] == [
        (0, 0, 3), (0, 1, 2), (1, 0, 4), (1, 2, 1), (2, 1, 2),
    ]  # fmt: skip
    assert data.num_train_pids == 3
    # query = test rows 4 and 7 (1-based), original pids
    assert [(t.pid, t.camid, len(t.frames)) for t in data.query] == [(7, 0, 2), (20, 1, 2)]
    # gallery = the other rows without junk (rows 1, 9); pid 0 distractors stay
    assert [(t.pid, t.camid, len(t.frames)) for t in data.gallery] == [
        (0, 1, 3), (0, 3, 1), (7, 0, 3), (7, 2, 2), (20, 4, 4),
    ]  # fmt: skip
    first = data.train[0].frames
    assert first == tuple(root / "bbox_train" / "0005" / mars_name(5, 1, 1, f) for f in (1, 2, 3))
    # rows are 1-based inclusive into the name list: row 5 = names 6..8 of test_name.txt
    assert data.gallery[2].frames[0].name == mars_name(7, 1, 2, 1)


def test_mars_summary_counts(tmp_path):
    table = Mars(build_mini_mars(tmp_path / "mars")).summary()
    assert table.loc["train", ["ids", "tracklets", "frames"]].tolist() == [3, 5, 12]
    assert table.loc["query", ["ids", "tracklets", "frames"]].tolist() == [2, 2, 4]
    assert table.loc["gallery", ["ids", "tracklets", "frames"]].tolist() == [3, 5, 13]
    assert table.loc["gallery", "cameras"] == 5
    assert table.loc["train", "mean_len"] == pytest.approx(2.4)


def test_prid_split_zero_and_one(tmp_path):
    root = build_mini_prid(tmp_path / "prid")
    data = PRID2011(root)
    # train: persons 1, 2 from both cameras, relabelled 0, 1
    assert [(t.pid, t.camid, len(t.frames)) for t in data.train] == [
        (0, 0, 3), (0, 1, 2), (1, 0, 2), (1, 1, 5),
    ]  # fmt: skip
    # query = cam_a, gallery = cam_b; pids are the folder numbers
    assert [(t.pid, t.camid, len(t.frames)) for t in data.query] == [(3, 0, 4), (4, 0, 1)]
    assert [(t.pid, t.camid, len(t.frames)) for t in data.gallery] == [(3, 1, 1), (4, 1, 3)]
    # frames are sorted by name although written in reverse order
    assert [f.name for f in data.query[0].frames] == [
        "0001.png",
        "0003.png",
        "0005.png",
        "0007.png",
    ]
    assert frame_values(data.query[0]) == [0, 10, 20, 30]
    swapped = PRID2011(root, split_id=1)
    assert [t.pid for t in swapped.query] == [1, 2]
    assert swapped.num_train_pids == 2 and len(swapped.train) == 4


def test_ilids_split_rows_index_sorted_folders(tmp_path):
    root = build_mini_ilids(tmp_path / "ilids")
    data = ILIDSVID(root)
    # ls_set row 1 = [3, 1, 4, 2]: test = folders 3, 1 (person004, person001), train = 4, 2
    assert [(t.pid, t.camid, len(t.frames)) for t in data.query] == [(1, 0, 1), (4, 0, 3)]
    assert [(t.pid, t.camid, len(t.frames)) for t in data.gallery] == [(1, 1, 2), (4, 1, 4)]
    assert [(t.pid, t.camid, len(t.frames)) for t in data.train] == [
        (0, 0, 2), (0, 1, 3), (1, 0, 4), (1, 1, 5),
    ]  # fmt: skip
    assert data.train[2].frames[0].parent.name == "person010"
    assert frame_values(data.train[3]) == [0, 20, 40, 60, 80]
    other = ILIDSVID(root, split_id=1)  # row 2 = [2, 4, 1, 3]: test = person003, person010
    assert [t.pid for t in other.query] == [3, 10]


def test_factory_builds_each_dataset_and_names_the_choices(tmp_path):
    assert sorted(DATASETS) == ["ilidsvid", "mars", "prid2011"]
    mars = build_dataset("mars", build_mini_mars(tmp_path / "m"))
    prid = build_dataset("prid2011", build_mini_prid(tmp_path / "p"), split_id=1)
    ilids = build_dataset("ilidsvid", build_mini_ilids(tmp_path / "i"))
    assert (type(mars), type(prid), type(ilids)) == (Mars, PRID2011, ILIDSVID)
    assert [t.pid for t in prid.query] == [1, 2]
    with pytest.raises(ValueError, match=re.escape("must be one of ['ilidsvid', 'mars'")):
        build_dataset("duke", tmp_path)


def test_repr_mentions_root_and_sizes(tmp_path):
    data = Mars(build_mini_mars(tmp_path / "m"))
    assert repr(data) == (
        f"Mars(root={str(Path(tmp_path / 'm'))!r}, train=5, query=2, gallery=5, num_train_pids=3)"
    )
