"""Frame listing: hidden files (macOS `._*`, `.DS_Store`), non-image files and folders are never
frames; each dataset says once how many entries it ignored."""

from __future__ import annotations

import logging
import re

import pytest

from reidlib.data import ILIDSVID, PRID2011, DatasetError, Mars
from reidlib.data.io import is_frame_name, list_frames, scan_frames
from tests.data_builders import (
    apple_double,
    build_mini_ilids,
    build_mini_mars,
    build_mini_prid,
    write_frame,
)


@pytest.mark.parametrize(
    ("name", "frame"),
    [("0001.png", True), ("0001.PNG", True), ("F016.jpeg", True), ("x.bmp", True),
     ("._0001.png", False), (".DS_Store", False), (".0001.jpg", False), ("Thumbs.db", False),
     ("notes.txt", False), ("0001.png.tmp", False), ("0001", False)],
)  # fmt: skip
def test_is_frame_name(name, frame):
    assert is_frame_name(name) is frame


def test_scan_frames_sorts_frames_and_lists_what_it_ignored(tmp_path):
    for name in ("0003.png", "0001.png", "0002.JPG"):
        write_frame(tmp_path / name, 1)
    ignored = [apple_double(tmp_path / "0001.png"), apple_double(tmp_path / "0003.png")]
    for name in (".DS_Store", "Thumbs.db", "notes.txt"):
        (tmp_path / name).write_bytes(b"\x00")
        ignored.append(tmp_path / name)
    (tmp_path / "0004.png").mkdir()  # a folder is not a frame, whatever its name
    ignored.append(tmp_path / "0004.png")
    listing = scan_frames(tmp_path)
    assert [p.name for p in listing.frames] == ["0001.png", "0002.JPG", "0003.png"]
    assert listing.ignored == tuple(sorted(ignored))
    assert list_frames(tmp_path) == listing.frames


def test_a_folder_of_hidden_files_only_is_empty(tmp_path):
    apple_double(tmp_path / "0001.png")
    (tmp_path / ".DS_Store").write_bytes(b"\x00")
    with pytest.raises(DatasetError, match=re.escape(f"{tmp_path}: empty tracklet folder")) as err:
        scan_frames(tmp_path)
    assert "ignored: ['.DS_Store', '._0001.png']" in str(err.value)


def test_prid_ignores_apple_double_files_and_says_so_once(tmp_path, caplog):
    root = build_mini_prid(tmp_path / "prid")
    clean = PRID2011(root)
    assert clean.ignored == ()
    shots = root / "prid_2011" / "multi_shot"
    extra = [
        apple_double(f) for t in (*clean.train, *clean.query, *clean.gallery) for f in t.frames
    ]
    (shots / "cam_a" / "person_0001" / ".DS_Store").write_bytes(b"\x00")
    (shots / "cam_b" / "person_0002" / "Thumbs.db").write_bytes(b"\x00")
    (shots / "cam_a" / "person_0005" / ".DS_Store").write_bytes(b"\x00")  # not in split 0
    with caplog.at_level(logging.WARNING, logger="reidlib.data"):
        data = PRID2011(root)
    for split in ("train", "query", "gallery"):
        assert getattr(data, split) == getattr(clean, split)
    assert len(data.ignored) == len(extra) + 2 == 23
    assert not any(f.name.startswith(".") for t in data.query for f in t.frames)
    assert [r.getMessage() for r in caplog.records] == [
        f"{root}: ignored 23 hidden or non-image entries "
        "(e.g. prid_2011/multi_shot/cam_a/person_0001/.DS_Store)"
    ]


def test_ilids_ignores_hidden_files_and_hidden_person_folders(tmp_path, caplog):
    root = build_mini_ilids(tmp_path / "ilids")
    clean = ILIDSVID(root)
    frame = clean.gallery[0].frames[0]
    apple_double(frame)
    (frame.parent.parent / ".AppleDouble").mkdir()  # netatalk's folder beside the people
    with caplog.at_level(logging.WARNING, logger="reidlib.data"):
        data = ILIDSVID(root)
    assert data.gallery == clean.gallery and data.train == clean.train
    assert data.ignored == (frame.with_name(f"._{frame.name}"),)
    assert [r.getMessage() for r in caplog.records] == [
        f"{root}: ignored 1 hidden or non-image entry "
        f"(e.g. {frame.relative_to(root).with_name(f'._{frame.name}')})"
    ]


def test_mars_never_lists_folders_so_apple_double_files_are_not_frames(tmp_path, caplog):
    root = build_mini_mars(tmp_path / "mars")
    clean = Mars(root)
    for f in clean.query[0].frames:
        apple_double(f)
    with caplog.at_level(logging.WARNING, logger="reidlib.data"):
        data = Mars(root)
    assert data.query == clean.query and data.ignored == () and not caplog.records
    # a name list that names one is rejected with the line
    names = root / "info" / "test_name.txt"
    lines = names.read_text().splitlines()
    lines[5] = f"._{lines[5]}"
    names.write_text("\n".join(lines))
    with pytest.raises(DatasetError, match=re.escape(f"{names}: line 6 '._")):
        Mars(root)
