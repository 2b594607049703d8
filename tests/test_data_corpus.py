"""A corpus of broken PRID2011, iLIDS-VID and MARS layouts: each one fails with a message that
names the offending file or folder, either when it is loaded or when `check_dataset` opens its
frames, and none is modified (contents, modes and mtimes of every file and folder)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import scipy.io

from reidlib.data import ILIDSVID, PRID2011, DatasetError, Mars, check_dataset
from tests.data_builders import (
    apple_double,
    build_mini_ilids,
    build_mini_mars,
    build_mini_prid,
    fingerprint,
    write_noise_frame,
)

Damage = Callable[[Path], Path]  # breaks the layout under a root; returns the path to be named
AS_ROOT = pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads a file whatever its mode"
)


class Case(NamedTuple):
    name: str
    damage: Damage
    error: type[Exception] | None  # raised by the loader; None: found by `check_dataset`
    says: str  # part of the message besides the path
    marks: tuple = ()


# Ways to break a file or folder; each returns the path the message must name.
def removed(path: Path) -> Path:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()
    return path


def rewritten(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def truncated(path: Path) -> Path:
    """The first half of a noise frame (a tiny solid frame's file is nearly all headers)."""
    write_noise_frame(path)
    return rewritten(path, path.read_bytes()[: path.stat().st_size // 2])


def bit_flipped(path: Path) -> Path:
    """One byte of the image data changed, as bit rot on a disk does."""
    data = bytearray(path.read_bytes())
    data[-20] ^= 0x10  # a PNG ends with IDAT data, its 4-byte checksum and a 12-byte IEND chunk
    return rewritten(path, bytes(data))


def emptied(folder: Path, *leftovers: str) -> Path:
    """Deletes every frame of `folder`, leaving the given non-frame files."""
    for frame in folder.iterdir():
        frame.unlink()
    for name in leftovers:
        (folder / name).write_bytes(b"\x00")
    return folder


def holding_a_folder_named_like_a_frame(folder: Path) -> Path:
    (emptied(folder) / "0001.png").mkdir()
    return folder


def apple_double_content(frame: Path) -> Path:
    """The frame replaced by the bytes of its macOS `._` companion."""
    return rewritten(frame, apple_double(frame).read_bytes())


def linked_to_nowhere(frame: Path) -> Path:
    frame.unlink()
    frame.symlink_to(frame.with_name("gone.png"))
    return frame


def unreadable(frame: Path) -> Path:
    frame.chmod(0)
    return frame


# PRID2011: `prid_2011/multi_shot/cam_{a,b}/person_XXXX/*.png` and `splits_prid2011.json`
def shots(root: Path) -> Path:
    return root / "prid_2011" / "multi_shot"


def prid_splits(root: Path, splits: object) -> Path:
    return rewritten(root / "splits_prid2011.json", json.dumps(splits).encode())


def prid_test(root: Path, test: list[str]) -> Path:
    """Split 0 with `test` as its test people."""
    return prid_splits(root, [{"train": ["person_0001", "person_0002"], "test": test}])


def prid_tests_missing(root: Path, person: str, cam: str) -> Path:
    """Split 0 also tests `person`, whose folder is missing from `cam`."""
    prid_test(root, ["person_0003", "person_0004", person])
    return shots(root) / cam / person


def prid_frame(root: Path) -> Path:
    return shots(root) / "cam_a" / "person_0003" / "0003.png"  # a query frame of split 0


PRID_CASES = [
    Case("missing cam_b", lambda r: removed(shots(r) / "cam_b"), FileNotFoundError,
         "folder missing"),
    Case("missing split json", lambda r: removed(r / "splits_prid2011.json"), FileNotFoundError,
         "linked from the torchreid dataset docs"),
    Case("corrupt split json", lambda r: rewritten(r / "splits_prid2011.json", b'[{"train": ['),
         DatasetError, "not valid JSON"),
    Case("wrong split keys", lambda r: prid_splits(r, [{"training": [], "testing": []}]),
         DatasetError, "expected a list of {'train': [...], 'test': [...]} splits"),
    Case("splits in a dict", lambda r: prid_splits(r, {"train": [], "test": []}), DatasetError,
         "expected a list of"),
    Case("split names a missing person", lambda r: prid_tests_missing(r, "person_0042", "cam_a"),
         FileNotFoundError, "lists 'person_0042' for test"),
    Case("person only in cam_a", lambda r: prid_tests_missing(r, "person_0005", "cam_b"),
         FileNotFoundError, "lists 'person_0005' for test"),
    Case("person in train and test", lambda r: prid_test(r, ["person_0001", "person_0003"]),
         DatasetError, "people ['person_0001'] are in both train and test"),
    Case("no test people", lambda r: prid_test(r, []), DatasetError,
         "defines no query tracklets"),
    Case("empty person folder", lambda r: emptied(shots(r) / "cam_b" / "person_0004"),
         DatasetError, "empty tracklet folder"),
    Case("AppleDouble files only",
         lambda r: emptied(shots(r) / "cam_a" / "person_0001", "._0001.png", "._0003.png"),
         DatasetError, "ignored: ['._0001.png', '._0003.png']"),
    Case("a folder named 0001.png only",
         lambda r: holding_a_folder_named_like_a_frame(shots(r) / "cam_b" / "person_0002"),
         DatasetError, "ignored: ['0001.png']"),
    Case("truncated PNG", lambda r: truncated(prid_frame(r)), None, "damaged PNG"),
    Case("bit rot in a PNG", lambda r: bit_flipped(prid_frame(r)), None, "damaged PNG"),
    Case("zero-byte frame", lambda r: rewritten(prid_frame(r), b""), None,
         "empty file (0 bytes)"),
    Case("text file named .png", lambda r: rewritten(prid_frame(r), b"see README\n"), None,
         "not an image (cannot identify image file)"),
    Case("AppleDouble bytes under a frame's name", lambda r: apple_double_content(prid_frame(r)),
         None, "not an image"),
    Case("link to nowhere", lambda r: linked_to_nowhere(prid_frame(r)), None,
         "missing (no such file)"),
    Case("cut JPEG frame", lambda r: truncated(prid_frame(r).with_suffix(".jpg")), None,
         "truncated JPEG (no end-of-image marker)"),
    Case("unreadable frame", lambda r: unreadable(prid_frame(r)), None,
         "unreadable (permission denied)", marks=(AS_ROOT,)),
]  # fmt: skip


# iLIDS-VID: `i-LIDS-VID/sequences/cam{1,2}/personXXX/*.png` and the `ls_set` .mat file
def sequences(root: Path) -> Path:
    return root / "i-LIDS-VID" / "sequences"


def split_mat(root: Path) -> Path:
    return root / "train-test people splits" / "train_test_splits_ilidsvid.mat"


def saved_mat(root: Path, **variables: object) -> Path:
    scipy.io.savemat(split_mat(root), variables)
    return split_mat(root)


def ilids_frame(root: Path) -> Path:
    return sequences(root) / "cam2" / "person004" / "cam2_person004_00319.png"  # gallery, split 0


ILIDS_CASES = [
    Case("missing cam2", lambda r: removed(sequences(r) / "cam2"), FileNotFoundError,
         "folder missing"),
    Case("missing split .mat", lambda r: removed(split_mat(r)), FileNotFoundError,
         "iLIDS-VID.tar"),
    Case("corrupt .mat", lambda r: rewritten(split_mat(r), b"MATLAB 5.0 MAT-file\x00garbage"),
         DatasetError, "not a readable MATLAB file"),
    Case(".mat with the wrong variable", lambda r: saved_mat(r, splits=np.ones((2, 4))),
         DatasetError, "no variable 'ls_set' (found ['splits'])"),
    Case("ls_set out of range", lambda r: saved_mat(r, ls_set=np.array([[1, 2, 3, 5]])),
         DatasetError, "distinct 1-based indices into the 4 sorted folders"),
    Case("ls_set zero index", lambda r: saved_mat(r, ls_set=np.array([[0, 1, 2, 3]])),
         DatasetError, "distinct 1-based indices"),
    Case("ls_set repeats a person", lambda r: saved_mat(r, ls_set=np.array([[1, 1, 2, 3]])),
         DatasetError, "distinct 1-based indices"),
    Case("ls_set not integers", lambda r: saved_mat(r, ls_set=np.array([[1.5, 2, 3, 4]])),
         DatasetError, "'ls_set' holds non-integer values"),
    Case("ls_set as text", lambda r: saved_mat(r, ls_set="1 2 3 4"), DatasetError,
         "expected a 2-d numeric array"),
    Case("person only in cam1", lambda r: removed(sequences(r) / "cam2" / "person010").parent,
         DatasetError, "only in cam1: ['person010'], only in cam2: []"),
    Case("empty person folder", lambda r: emptied(sequences(r) / "cam1" / "person003"),
         DatasetError, "empty tracklet folder"),
    Case("Finder and Explorer files only",
         lambda r: emptied(sequences(r) / "cam2" / "person001", ".DS_Store", "Thumbs.db"),
         DatasetError, "ignored: ['.DS_Store', 'Thumbs.db']"),
    Case("truncated PNG", lambda r: truncated(ilids_frame(r)), None, "damaged PNG"),
    Case("bit rot in a PNG", lambda r: bit_flipped(ilids_frame(r)), None, "damaged PNG"),
    Case("zero-byte frame", lambda r: rewritten(ilids_frame(r), b""), None,
         "empty file (0 bytes)"),
    Case("HTML page named .png", lambda r: rewritten(ilids_frame(r), b"<html>404</html>"), None,
         "not an image (cannot identify image file)"),
    Case("link to nowhere", lambda r: linked_to_nowhere(ilids_frame(r)), None,
         "missing (no such file)"),
    Case("unreadable frame", lambda r: unreadable(ilids_frame(r)), None,
         "unreadable (permission denied)", marks=(AS_ROOT,)),
]  # fmt: skip


# MARS: frames the loader cannot judge, because it reads their names from info/test_name.txt
def mars_frame(root: Path) -> Path:
    return root / "bbox_test" / "0007" / "0007C1T0001F002.jpg"  # the first query's second frame


MARS_CASES = [
    Case("named frame missing", lambda r: removed(mars_frame(r)), None, "missing (no such file)"),
    Case("cut JPEG frame", lambda r: truncated(mars_frame(r)), None,
         "truncated JPEG (no end-of-image marker)"),
    Case("zero-byte frame", lambda r: rewritten(mars_frame(r), b""), None,
         "empty file (0 bytes)"),
]  # fmt: skip

LAYOUTS = {
    "prid2011": (build_mini_prid, PRID2011, PRID_CASES),
    "ilidsvid": (build_mini_ilids, ILIDSVID, ILIDS_CASES),
    "mars": (build_mini_mars, Mars, MARS_CASES),
}
CORPUS = [
    pytest.param(layout, c.damage, c.error, c.says, marks=c.marks, id=f"{layout}: {c.name}")
    for layout, (_, _, cases) in LAYOUTS.items()
    for c in cases
]


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_an_undamaged_layout_loads_and_checks_clean(tmp_path, layout):
    """The corpus's control: each error below comes from its damage, not from the layout."""
    build, loader, _ = LAYOUTS[layout]
    root = build(tmp_path / layout)
    before = fingerprint(root)
    data = loader(root)
    check = check_dataset(data, workers=1, progress=False)
    assert check.problems == () and check.num_frames > 0
    assert data.query and data.gallery
    assert fingerprint(root) == before


@pytest.mark.parametrize(("layout", "damage", "error", "says"), CORPUS)
def test_broken_layout_is_named_and_left_untouched(tmp_path, layout, damage, error, says):
    build, loader, _ = LAYOUTS[layout]
    root = build(tmp_path / layout)
    named = damage(root)
    before = fingerprint(root)
    if error is not None:
        with pytest.raises(error) as err:
            loader(root)
        message = str(err.value)
    else:
        check = check_dataset(loader(root), workers=1, progress=False)
        assert [p.path for p in check.problems] == [named]
        message = check.report()
        assert message.startswith(f"1 of {check.num_frames} frames under {root} cannot be read:")
    assert str(named) in message and says in message
    assert fingerprint(root) == before
