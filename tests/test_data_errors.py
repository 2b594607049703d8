"""Malformed datasets: every error names the file or folder and what was expected, and the
user's data is never modified."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch
from torch.utils.data import DataLoader

from reidlib.data import (
    ILIDSVID,
    PRID2011,
    DatasetError,
    FrameReadError,
    Mars,
    TrackletDataset,
    VideoDataset,
    build_test_transform,
    build_train_transform,
    read_frame,
)
from reidlib.data.io import list_frames
from tests.data_builders import (
    MARS_TEST,
    MARS_TRAIN,
    build_mini_ilids,
    build_mini_mars,
    build_mini_prid,
    snapshot,
)


def match(path: Path) -> str:
    return re.escape(str(path))


@pytest.mark.parametrize("loader", [Mars, PRID2011, ILIDSVID])
def test_missing_root(tmp_path, loader):
    with pytest.raises(FileNotFoundError, match=match(tmp_path / "nowhere")):
        loader(tmp_path / "nowhere")


@pytest.mark.parametrize(
    "name",
    ["train_name.txt", "test_name.txt", "tracks_train_info.mat", "tracks_test_info.mat",
     "query_IDX.mat"],
)  # fmt: skip
def test_mars_missing_info_file_says_where_it_comes_from(tmp_path, name):
    root = build_mini_mars(tmp_path / "mars")
    (root / "info" / name).unlink()
    with pytest.raises(FileNotFoundError, match=match(root / "info" / name)) as err:
        Mars(root)
    assert "liangzheng06/MARS-evaluation" in str(err.value)


def test_mars_missing_image_folder(tmp_path):
    root = build_mini_mars(tmp_path / "mars")
    shutil.rmtree(root / "bbox_test")
    with pytest.raises(FileNotFoundError, match=match(root / "bbox_test")):
        Mars(root)


def test_mars_missing_pid_folder_names_the_row(tmp_path):
    root = build_mini_mars(tmp_path / "mars")
    shutil.rmtree(root / "bbox_train" / "0009")
    with pytest.raises(FileNotFoundError, match=match(root / "bbox_train" / "0009")) as err:
        Mars(root)
    assert "row 3" in str(err.value)


def test_mars_track_row_past_the_name_list(tmp_path):
    root = build_mini_mars(tmp_path / "mars")
    rows = np.array([[1, 3, 5, 1], [4, 40, 5, 2]], np.int32)  # 12 names only
    scipy.io.savemat(root / "info" / "tracks_train_info.mat", {"track_train_info": rows})
    with pytest.raises(DatasetError, match=match(root / "info" / "tracks_train_info.mat")) as err:
        Mars(root)
    assert "row 2 [4, 40, 5, 2] points past" in str(err.value)
    assert "train_name.txt (12 names)" in str(err.value)


def test_mars_name_disagrees_with_its_row(tmp_path):
    root = build_mini_mars(tmp_path / "mars")
    # the row claims camera 3 for names written as camera 2
    rows = scipy.io.loadmat(root / "info" / "tracks_train_info.mat")["track_train_info"]
    rows[1, 3] = 3
    scipy.io.savemat(root / "info" / "tracks_train_info.mat", {"track_train_info": rows})
    with pytest.raises(DatasetError, match=match(root / "info" / "tracks_train_info.mat")) as err:
        Mars(root)
    assert "'0005C2T0001F001.jpg'" in str(err.value) and "camera 3" in str(err.value)
    # and a pid that disagrees
    rows[1, 3], rows[4, 2] = 2, 13
    scipy.io.savemat(root / "info" / "tracks_train_info.mat", {"track_train_info": rows})
    with pytest.raises(DatasetError, match=re.escape("'0012C2T0001F001.jpg'")):
        Mars(root)


def test_mars_wrong_key_shape_and_query_index(tmp_path):
    root = build_mini_mars(tmp_path / "mars")
    info = root / "info"
    scipy.io.savemat(info / "tracks_test_info.mat", {"tracks": np.zeros((2, 4), np.int32)})
    with pytest.raises(DatasetError, match=match(info / "tracks_test_info.mat")) as err:
        Mars(root)
    assert "no variable 'track_test_info'" in str(err.value)
    scipy.io.savemat(info / "tracks_test_info.mat", {"track_test_info": np.ones((2, 3))})
    with pytest.raises(DatasetError, match=re.escape("expected (n, 4) rows")):
        Mars(root)
    build_mini_mars(tmp_path / "mars2", query_rows=[4, 10])  # 9 test rows
    with pytest.raises(DatasetError, match=match(tmp_path / "mars2" / "info" / "query_IDX.mat")):
        Mars(tmp_path / "mars2")


def test_mars_bad_name_line(tmp_path):
    root = build_mini_mars(tmp_path / "mars")
    names = (root / "info" / "test_name.txt").read_text().splitlines()
    names[2] = "frame_0003.jpg"
    (root / "info" / "test_name.txt").write_text("\n".join(names))
    with pytest.raises(DatasetError, match=match(root / "info" / "test_name.txt")) as err:
        Mars(root)
    assert "line 3 'frame_0003.jpg'" in str(err.value)


def test_prid_missing_split_file_says_where_it_comes_from(tmp_path):
    root = build_mini_prid(tmp_path / "prid")
    (root / "splits_prid2011.json").unlink()
    with pytest.raises(FileNotFoundError, match=match(root / "splits_prid2011.json")) as err:
        PRID2011(root)
    assert "deep-person-reid" in str(err.value)


def test_ilids_missing_split_file_says_where_it_comes_from(tmp_path):
    root = build_mini_ilids(tmp_path / "ilids")
    path = root / "train-test people splits" / "train_test_splits_ilidsvid.mat"
    path.unlink()
    with pytest.raises(FileNotFoundError, match=match(path)) as err:
        ILIDSVID(root)
    assert "iLIDS-VID.tar" in str(err.value)


def test_split_id_out_of_range(tmp_path):
    prid = build_mini_prid(tmp_path / "prid")
    with pytest.raises(DatasetError, match=match(prid / "splits_prid2011.json")) as err:
        PRID2011(prid, split_id=2)
    assert "split_id 2 out of range" in str(err.value) and "(0..1)" in str(err.value)
    ilids = build_mini_ilids(tmp_path / "ilids")
    mat = ilids / "train-test people splits" / "train_test_splits_ilidsvid.mat"
    with pytest.raises(DatasetError, match=match(mat)):
        ILIDSVID(ilids, split_id=-1)


def test_prid_malformed_json_and_missing_person(tmp_path):
    root = build_mini_prid(tmp_path / "prid")
    split_path = root / "splits_prid2011.json"
    split_path.write_text("{not json")
    with pytest.raises(DatasetError, match=match(split_path)):
        PRID2011(root)
    split_path.write_text(json.dumps({"train": []}))
    with pytest.raises(DatasetError, match=re.escape("expected a list of")):
        PRID2011(root)
    # person_0005 exists in cam_a only
    split_path.write_text(json.dumps([{"train": ["person_0001"], "test": ["person_0005"]}]))
    missing = root / "prid_2011" / "multi_shot" / "cam_b" / "person_0005"
    with pytest.raises(FileNotFoundError, match=match(missing)):
        PRID2011(root)


def test_empty_tracklet_folder(tmp_path):
    root = build_mini_prid(tmp_path / "prid")
    folder = root / "prid_2011" / "multi_shot" / "cam_b" / "person_0003"
    for frame in folder.iterdir():
        frame.unlink()
    (folder / "notes.txt").write_text("not a frame")
    with pytest.raises(DatasetError, match=match(folder) + ": empty tracklet folder"):
        PRID2011(root)


def test_ilids_cameras_with_different_people(tmp_path):
    root = build_mini_ilids(tmp_path / "ilids")
    cam2 = root / "i-LIDS-VID" / "sequences" / "cam2"
    (cam2 / "person004").rename(cam2 / "person005")
    with pytest.raises(DatasetError, match=match(cam2.parent / "cam1")) as err:
        ILIDSVID(root)
    assert "only in cam1: ['person004'], only in cam2: ['person005']" in str(err.value)


def test_ilids_split_indices_out_of_range(tmp_path):
    root = build_mini_ilids(tmp_path / "ilids")
    mat = root / "train-test people splits" / "train_test_splits_ilidsvid.mat"
    scipy.io.savemat(mat, {"ls_set": np.array([[1, 2, 3, 5]], np.float64)})
    with pytest.raises(DatasetError, match=match(mat)) as err:
        ILIDSVID(root)
    assert "distinct 1-based indices into the 4 sorted folders" in str(err.value)


def test_unreadable_frame_names_the_frame(tmp_path):
    root = build_mini_prid(tmp_path / "prid")
    data = PRID2011(root)
    bad = data.train[0].frames[1]
    bad.write_bytes(b"this is not a png")
    with pytest.raises(FrameReadError, match=match(bad)):
        read_frame(bad)
    dataset = VideoDataset(data.train[:1], clip_len=3, transform=build_train_transform(size=(8, 4)))
    with pytest.raises(FrameReadError, match=match(bad)):
        dataset[0]
    missing = data.train[1].frames[0]
    missing.unlink()
    with pytest.raises(FileNotFoundError, match=match(missing)):
        read_frame(missing)


def test_unreadable_frame_in_a_dataloader_worker(tmp_path):
    root = build_mini_prid(tmp_path / "prid")
    data = PRID2011(root)
    bad = data.query[0].frames[2]
    bad.write_bytes(b"\x89PNG truncated")
    dataset = TrackletDataset(data.query, transform=build_test_transform(size=(8, 4)))
    loader = DataLoader(dataset, batch_size=None, num_workers=1)
    torch.manual_seed(0)
    with pytest.raises(FrameReadError, match=match(bad)) as err:
        list(loader)
    # the worker's traceback stops at read_frame: no frames from inside PIL
    assert "site-packages/PIL" not in str(err.value)


def test_list_frames_of_empty_folder(tmp_path):
    (tmp_path / "t").mkdir()
    with pytest.raises(DatasetError, match=match(tmp_path / "t")):
        list_frames(tmp_path / "t")


def test_failed_loads_leave_the_data_untouched(tmp_path):
    mars = build_mini_mars(tmp_path / "mars", train=MARS_TRAIN, test=MARS_TEST, query_rows=[4, 99])
    prid = build_mini_prid(tmp_path / "prid")
    ilids = build_mini_ilids(tmp_path / "ilids")
    (ilids / "i-LIDS-VID" / "sequences" / "cam2" / "person001").rename(
        ilids / "i-LIDS-VID" / "sequences" / "cam2" / "person002"
    )
    before = snapshot(tmp_path)
    for call in (lambda: Mars(mars), lambda: PRID2011(prid, split_id=7), lambda: ILIDSVID(ilids)):
        with pytest.raises(DatasetError):
            call()
    assert snapshot(tmp_path) == before
