"""iLIDS-VID (Wang et al., ECCV 2014): 300 people seen by two cameras, 23-192 frames each.

Layout (docs/decisions.md §5): `i-LIDS-VID/sequences/cam{1,2}/personXXX/*.png` and
`train-test people splits/train_test_splits_ilidsvid.mat`, whose `ls_set` is `(10, 300)`,
1-based into the sorted `cam1` person folders; in each row the first half is test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reidlib.data.base import VideoReIDDataset
from reidlib.data.errors import DatasetError
from reidlib.data.io import load_mat_array, require_dir
from reidlib.data.two_camera import two_camera_splits

SOURCE = (
    "iLIDS-VID.tar from QMUL (www.eecs.qmul.ac.uk/~xiatian/iLIDS-VID/iLIDS-VID.tar) holds "
    "the frames and the split file"
)
SPLIT_FILE = Path("train-test people splits") / "train_test_splits_ilidsvid.mat"


class ILIDSVID(VideoReIDDataset):
    """iLIDS-VID, one train/test split of `ls_set`.

    Training uses both cameras; query = `cam1` (camid 0), gallery = `cam2` (camid 1).
    Frames are sorted by name; test pids are the folders' numbers (`person042` -> 42).

    Args:
        root: the folder holding `i-LIDS-VID/` and `train-test people splits/`.
        split_id: which row of `ls_set` (0-based).
    """

    name = "ilidsvid"

    def __init__(self, root: Path, *, split_id: int = 0) -> None:
        root = Path(root)
        require_dir(
            root, what=f"an iLIDS-VID root with i-LIDS-VID/ and train-test people splits/; {SOURCE}"
        )
        sequences = root / "i-LIDS-VID" / "sequences"
        cam_dirs = (
            require_dir(sequences / "cam1", what=f"one folder per person; {SOURCE}"),
            require_dir(sequences / "cam2", what=f"one folder per person; {SOURCE}"),
        )
        people, people2 = (_person_folders(cam_dir) for cam_dir in cam_dirs)
        if people != people2:
            only1 = sorted(set(people) - set(people2))[:3]
            only2 = sorted(set(people2) - set(people))[:3]
            raise DatasetError(
                f"{cam_dirs[0]} and {cam_dirs[1]}: expected the same person folders; "
                f"only in cam1: {only1}, only in cam2: {only2}"
            )
        split_path = root / SPLIT_FILE
        ls_set = load_mat_array(split_path, "ls_set", ndim=2, source=SOURCE)
        if not 0 <= split_id < len(ls_set):
            raise DatasetError(
                f"{split_path}: split_id {split_id} out of range; 'ls_set' has "
                f"{len(ls_set)} splits (0..{len(ls_set) - 1})"
            )
        row = ls_set[split_id]
        if row.min() < 1 or row.max() > len(people) or len(np.unique(row)) != len(row):
            raise DatasetError(
                f"{split_path}: row {split_id + 1} of 'ls_set' must hold distinct 1-based "
                f"indices into the {len(people)} sorted folders of {cam_dirs[0]}"
            )
        num_test = len(row) // 2  # the first half of each row is test (Wang et al.)
        test = [people[i - 1] for i in row[:num_test].tolist()]
        train = [people[i - 1] for i in row[num_test:].tolist()]
        splits = two_camera_splits(cam_dirs, train=train, test=test, source=split_path)
        self.split_id = split_id
        super().__init__(root=root, **splits._asdict())


def _person_folders(cam_dir: Path) -> list[str]:
    """The sorted person folders of one camera; hidden folders (`.AppleDouble`) are not people."""
    return sorted(p.name for p in cam_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
