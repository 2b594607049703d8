"""MARS (Zheng et al., ECCV 2016): 1261 ids, 20,715 tracklets, 6 cameras.

Layout (docs/decisions.md §5): `bbox_train/<pid4>/<name>`, `bbox_test/<pid4>/<name>` and `info/`
with the name lists and track tables of `liangzheng06/MARS-evaluation`. A frame name such as
`0065C1T0002F016.jpg` carries the pid (`name[0:4]`, `00-1` for junk) and the camera (`name[5]`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reidlib.data.base import VideoReIDDataset, check_not_empty, relabel
from reidlib.data.errors import DatasetError
from reidlib.data.io import load_mat_array, require_dir, require_file
from reidlib.types import Tracklet

IMAGES_SOURCE = (
    "frames come from the MARS project page "
    "(http://www.liangzheng.com.cn/Project/project_mars.html)"
)
INFO_SOURCE = "the official info/ folder comes from github.com/liangzheng06/MARS-evaluation"
JUNK_PID = -1  # dropped
DISTRACTOR_PID = 0  # kept in the gallery


class Mars(VideoReIDDataset):
    """MARS read from its native folders and info files.

    Track rows are `[start, end, pid, camid]`, 1-based and inclusive into the name list;
    `query_IDX` is 1-based into the test rows and the gallery is every other test row.
    Junk rows (pid −1) are dropped, distractors (pid 0) stay in the gallery, training pids
    are relabelled `0..N-1`, cameras become 0-based. With the official files this gives
    625 train ids / 8298 train tracklets, 1980 query and 9330 gallery tracklets.

    Args:
        root: the folder holding `bbox_train/`, `bbox_test/` and `info/`.
    """

    name = "mars"

    def __init__(self, root: Path) -> None:
        root = Path(root)
        require_dir(
            root, what=f"a MARS root with bbox_train/, bbox_test/ and info/; {IMAGES_SOURCE}"
        )
        info = require_dir(root / "info", what=f"the MARS info files; {INFO_SOURCE}")
        for home in ("bbox_train", "bbox_test"):
            require_dir(root / home, what=f"one folder of frames per pid; {IMAGES_SOURCE}")
        train_names = _read_names(info / "train_name.txt")
        test_names = _read_names(info / "test_name.txt")
        track_train = _read_tracks(info / "tracks_train_info.mat", "track_train_info")
        track_test = _read_tracks(info / "tracks_test_info.mat", "track_test_info")
        query_path = info / "query_IDX.mat"
        query_idx = load_mat_array(query_path, "query_IDX", ndim=1, source=INFO_SOURCE) - 1
        if query_idx.size and (query_idx.min() < 0 or query_idx.max() >= len(track_test)):
            raise DatasetError(
                f"{query_path}: indices must lie in 1..{len(track_test)} (the rows of "
                f"tracks_test_info.mat); found {query_idx.min() + 1}..{query_idx.max() + 1}"
            )
        is_query = np.zeros(len(track_test), dtype=bool)
        is_query[query_idx] = True

        train = _tracklets(root, "bbox_train", train_names, track_train, info, "train")
        test_codes = _name_codes(test_names, info / "test_name.txt")
        test_rows = np.arange(len(track_test))
        query, gallery = (
            _tracklets(
                root,
                "bbox_test",
                test_names,
                track_test[rows],
                info,
                "test",
                rows=rows,
                codes=test_codes,
            )
            for rows in (query_idx, test_rows[~is_query])
        )
        check_not_empty(train, split="train", source=info / "tracks_train_info.mat")
        check_not_empty(query, split="query", source=query_path)
        super().__init__(root=root, train=relabel(train), query=query, gallery=gallery)


def _read_names(path: Path) -> list[str]:
    """One frame name per line, e.g. `0065C1T0002F016.jpg`."""
    require_file(path, what=f"one frame name per line; {INFO_SOURCE}")
    names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    for i, name in enumerate(names):
        if len(name) < 7 or name[4] != "C" or not name[5].isdigit():
            raise DatasetError(
                f"{path}: line {i + 1} {name!r} is not a MARS frame name "
                "(expected e.g. '0065C1T0002F016.jpg')"
            )
    return names


def _read_tracks(path: Path, key: str) -> np.ndarray:
    """The `(n, 4)` track table `[start, end, pid, camid]`."""
    tracks = load_mat_array(path, key, ndim=2, source=INFO_SOURCE)
    if tracks.shape[1] != 4:
        raise DatasetError(
            f"{path}: {key!r} has shape {tracks.shape}; expected (n, 4) rows "
            "[start, end, pid, camid]"
        )
    return tracks


def _name_codes(names: list[str], path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The pid (`name[0:4]`, `00-1` is junk) and camera (`name[5]`) encoded in each name."""
    try:
        pids = np.array([JUNK_PID if n[:4] == "00-1" else int(n[:4]) for n in names], np.int64)
    except ValueError:
        bad = next(n for n in names if n[:4] != "00-1" and not n[:4].isdigit())
        raise DatasetError(f"{path}: {bad!r} does not start with a 4-digit pid") from None
    return pids, np.array([int(n[5]) for n in names], np.int64)


def _tracklets(
    root: Path,
    home: str,
    names: list[str],
    tracks: np.ndarray,
    info: Path,
    split: str,
    *,
    rows: np.ndarray | None = None,
    codes: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[Tracklet]:
    """Tracklets of the given track rows; junk rows are dropped."""
    name_path = info / f"{split}_name.txt"
    mat_path = info / f"tracks_{split}_info.mat"
    rows = np.arange(len(tracks)) if rows is None else rows
    name_pids, name_cams = _name_codes(names, name_path) if codes is None else codes
    seen_dirs: set[str] = set()
    tracklets = []
    for row, (start, end, pid, cam) in zip(rows.tolist(), tracks.tolist()):
        where = f"{mat_path}: row {row + 1} [{start}, {end}, {pid}, {cam}]"
        if not 1 <= start <= end <= len(names):
            raise DatasetError(
                f"{where} points past {name_path} ({len(names)} names); expected "
                "1 <= start <= end <= number of names"
            )
        if pid == JUNK_PID:
            continue
        if not 1 <= cam <= 9:
            raise DatasetError(f"{where}: camera must be 1..9")
        if not (
            np.all(name_pids[start - 1 : end] == pid) and np.all(name_cams[start - 1 : end] == cam)
        ):
            bad = next(
                n
                for n in names[start - 1 : end]
                if _name_codes([n], name_path)[0][0] != pid or int(n[5]) != cam
            )
            raise DatasetError(
                f"{where}: frame {bad!r} of {name_path} disagrees with the row's "
                f"pid {pid} / camera {cam}"
            )
        folder = root / home / names[start - 1][:4]
        if folder.name not in seen_dirs:
            require_dir(folder, what=f"the frames of {where}; {IMAGES_SOURCE}")
            seen_dirs.add(folder.name)
        frames = tuple(folder / n for n in names[start - 1 : end])
        tracklets.append(Tracklet(frames=frames, pid=int(pid), camid=int(cam) - 1))
    return tracklets
