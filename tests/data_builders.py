"""Hand-written miniature datasets in the native layouts, with counts known by construction.

Frames are tiny solid images whose colour encodes the frame number, so tests can tell which
frame was read. Info and split files use the real names, keys, shapes and index conventions.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image

# (pid, camera 1-based, frames); row order = name-list order
MARS_TRAIN = [(5, 1, 3), (5, 2, 2), (9, 1, 4), (9, 3, 1), (12, 2, 2)]
MARS_TEST = [
    (-1, 1, 2),  # row 1: junk, dropped
    (0, 2, 3),  # row 2: distractor, gallery
    (0, 4, 1),  # row 3: distractor, gallery
    (7, 1, 2),  # row 4: query
    (7, 1, 3),  # row 5
    (7, 3, 2),  # row 6
    (20, 2, 2),  # row 7: query
    (20, 5, 4),  # row 8
    (-1, 6, 1),  # row 9: junk, dropped
]
MARS_QUERY_ROWS = [4, 7]  # 1-based rows of tracks_test_info.mat


def write_frame(path: Path, value: int, *, size: tuple[int, int] = (8, 4)) -> None:
    """A solid frame of grey level `value` (JPEG or PNG by suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((*size, 3), value, np.uint8)).save(path)


def write_noise_frame(path: Path, *, size: tuple[int, int] = (64, 32)) -> None:
    """A seeded noise frame: unlike a solid one, most of its file is compressed image data."""
    pixels = np.random.default_rng(0).integers(0, 256, (*size, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)


def mars_name(pid: int, cam: int, serial: int, frame: int) -> str:
    """A MARS frame name, e.g. `0007C1T0002F003.jpg`; pid −1 is written `00-1`."""
    prefix = "00-1" if pid == -1 else f"{pid:04d}"
    return f"{prefix}C{cam}T{serial:04d}F{frame:03d}.jpg"


def build_mini_mars(
    root: Path,
    *,
    train: list[tuple[int, int, int]] = MARS_TRAIN,
    test: list[tuple[int, int, int]] = MARS_TEST,
    query_rows: list[int] = MARS_QUERY_ROWS,
    query_dtype: type = np.int32,
) -> Path:
    """Writes `bbox_train/`, `bbox_test/` and `info/` for the given track lists."""
    info = root / "info"
    info.mkdir(parents=True)
    for split, tracks in (("train", train), ("test", test)):
        names, rows, serial = [], [], {}
        for pid, cam, length in tracks:
            serial[pid, cam] = serial.get((pid, cam), 0) + 1
            first = len(names) + 1
            for f in range(1, length + 1):
                name = mars_name(pid, cam, serial[pid, cam], f)
                write_frame(root / f"bbox_{split}" / name[:4] / name, (len(names) * 7) % 256)
                names.append(name)
            rows.append([first, len(names), pid, cam])
        (info / f"{split}_name.txt").write_text("\n".join(names) + "\n")
        scipy.io.savemat(
            info / f"tracks_{split}_info.mat", {f"track_{split}_info": np.array(rows, np.int32)}
        )
    scipy.io.savemat(
        info / "query_IDX.mat", {"query_IDX": np.array([query_rows], dtype=query_dtype)}
    )
    return root


def build_mini_prid(root: Path) -> Path:
    """cam_a: persons 1-5, cam_b: persons 1-4, 6, 7; two splits over persons 1-4.

    Frame files are written out of order and numbered with gaps, to test sorting.
    """
    shots = root / "prid_2011" / "multi_shot"
    lengths = {
        "cam_a": {1: 3, 2: 2, 3: 4, 4: 1, 5: 2},
        "cam_b": {1: 2, 2: 5, 3: 1, 4: 3, 6: 2, 7: 1},
    }
    for cam, people in lengths.items():
        for person, n in people.items():
            for f in reversed(range(n)):
                write_frame(shots / cam / f"person_{person:04d}" / f"{2 * f + 1:04d}.png", 10 * f)
    splits = [
        {"train": ["person_0001", "person_0002"], "test": ["person_0003", "person_0004"]},
        {"train": ["person_0003", "person_0004"], "test": ["person_0001", "person_0002"]},
    ]
    (root / "splits_prid2011.json").write_text(json.dumps(splits))
    return root


ILIDS_PEOPLE = ["person001", "person003", "person004", "person010"]  # sorted; numbers have gaps
ILIDS_LS_SET = [[3, 1, 4, 2], [2, 4, 1, 3]]  # 1-based; first half of each row is test


def build_mini_ilids(root: Path) -> Path:
    """Four people in both cameras, lengths 1-4, and a `(2, 4)` double `ls_set`."""
    sequences = root / "i-LIDS-VID" / "sequences"
    for cam in (1, 2):
        for k, person in enumerate(ILIDS_PEOPLE):
            for f in range(k + cam):
                name = f"cam{cam}_{person}_{317 + f:05d}.png"
                write_frame(sequences / f"cam{cam}" / person / name, 20 * f)
    split_dir = root / "train-test people splits"
    split_dir.mkdir(parents=True)
    scipy.io.savemat(
        split_dir / "train_test_splits_ilidsvid.mat",
        {"ls_set": np.array(ILIDS_LS_SET, dtype=np.float64)},
    )
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its bytes, to check that nothing was modified."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def fingerprint(root: Path) -> dict[str, tuple[str, int, int]]:
    """Every file and folder under `root` (and `root` itself): content hash, mode and mtime.

    Stronger than `snapshot`: a rewrite with the same bytes, a chmod, or a file created and
    deleted again (which moves its folder's mtime) all change it. Unreadable files hash as "".
    """
    out = {}
    for p in [root, *sorted(root.rglob("*"))]:
        st = p.lstat()
        digest = ""
        if p.is_file() and os.access(p, os.R_OK):
            digest = hashlib.sha256(p.read_bytes()).hexdigest()
        out[str(p.relative_to(root))] = (digest, st.st_mode, st.st_mtime_ns)
    return out


def apple_double(frame: Path) -> Path:
    """Writes the `._<name>` file macOS leaves beside `frame` (a 4 KiB resource-fork header)."""
    path = frame.with_name(f"._{frame.name}")
    path.write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(4070))
    return path


# The synthetic MARS layout of the training tests (`synthetic_root("mars", **TINY_MARS)`):
# 4 training and 4 test identities, 2 cameras, 32×16 frames; one run epoch takes seconds.
TINY_MARS = {
    "num_ids": 8,
    "train_fraction": 0.5,
    "num_cameras": 2,
    "seed": 0,
    "image_size": (32, 16),
}
