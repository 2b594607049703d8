"""PRID2011 (Hirzer et al., SCIA 2011): 200 people seen by two cameras, 5-675 frames each.

Layout (docs/decisions.md §5): `prid_2011/multi_shot/cam_{a,b}/person_XXXX/*.png` with
`splits_prid2011.json` beside `prid_2011/`. The json holds 10 splits `{"train": [...],
"test": [...]}` over the 178 people whose sequences pass a length threshold (89/89).
"""

from __future__ import annotations

from pathlib import Path

from reidlib.data.base import VideoReIDDataset
from reidlib.data.errors import DatasetError
from reidlib.data.io import load_json, require_dir
from reidlib.data.two_camera import two_camera_splits

IMAGES_SOURCE = (
    "frames come from the TU Graz PRID 2011 archive "
    "(tugraz.at/institute/icg/research/team-bischof/lrs/downloads/PRID11/)"
)
SPLIT_SOURCE = (
    "splits_prid2011.json is linked from the torchreid dataset docs "
    "(kaiyangzhou.github.io/deep-person-reid/datasets.html#prid2011-prid2011)"
)


class PRID2011(VideoReIDDataset):
    """PRID2011 multi-shot, one train/test split of `splits_prid2011.json`.

    Training uses both cameras; query = `cam_a` (camid 0), gallery = `cam_b` (camid 1).
    Frames are sorted by name; test pids are the folders' numbers (`person_0042` -> 42).

    Args:
        root: the folder holding `prid_2011/` and `splits_prid2011.json`.
        split_id: which of the json's splits (0-based).
    """

    name = "prid2011"

    def __init__(self, root: Path, *, split_id: int = 0) -> None:
        root = Path(root)
        require_dir(
            root, what=f"a PRID2011 root with prid_2011/ and splits_prid2011.json; {IMAGES_SOURCE}"
        )
        shots = root / "prid_2011" / "multi_shot"
        cam_dirs = tuple(
            require_dir(shots / c, what=f"one folder per person; {IMAGES_SOURCE}")
            for c in ("cam_a", "cam_b")
        )
        split_path = root / "splits_prid2011.json"
        split = select_split(load_json(split_path, source=SPLIT_SOURCE), split_id, split_path)
        splits = two_camera_splits(
            cam_dirs, train=split["train"], test=split["test"], source=split_path
        )
        self.split_id = split_id
        super().__init__(root=root, **splits._asdict())


def select_split(splits: object, split_id: int, path: Path) -> dict[str, list[str]]:
    """Checks the json's structure and returns split `split_id`."""
    if not isinstance(splits, list) or not all(
        isinstance(s, dict) and isinstance(s.get("train"), list) and isinstance(s.get("test"), list)
        for s in splits
    ):
        raise DatasetError(f"{path}: expected a list of {{'train': [...], 'test': [...]}} splits")
    if not 0 <= split_id < len(splits):
        raise DatasetError(
            f"{path}: split_id {split_id} out of range; the file has {len(splits)} splits "
            f"(0..{len(splits) - 1})"
        )
    return splits[split_id]
