"""Build a dataset by name (a plain dict, no registry)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from reidlib.config import has_splits
from reidlib.data.base import VideoReIDDataset
from reidlib.data.ilidsvid import ILIDSVID
from reidlib.data.mars import Mars
from reidlib.data.prid2011 import PRID2011
from reidlib.data.synthetic import ensure_synthetic, read_manifest

DATASETS: dict[str, Callable[..., VideoReIDDataset]] = {
    "mars": Mars,
    "prid2011": PRID2011,
    "ilidsvid": ILIDSVID,
}


def build_dataset(name: str, root: Path, *, split_id: int = 0, **kwargs: Any) -> VideoReIDDataset:
    """Reads dataset `name` from `root`.

    Args:
        name: a key of `DATASETS`, or "synthetic" (see `load_synthetic`).
        root: the dataset folder (see each loader for the layout it expects).
        split_id: the train/test split of PRID2011 and iLIDS-VID; MARS has only split 0.
        **kwargs: passed to `load_synthetic` (e.g. `layout`, generator parameters).
    """
    if name == "synthetic":
        return load_synthetic(root, split_id=split_id, **kwargs)
    if name not in DATASETS:
        raise ValueError(
            f"Unknown dataset {name!r}: must be one of {sorted([*DATASETS, 'synthetic'])}"
        )
    return _open(name, Path(root), split_id=split_id)


def _open(name: str, root: Path, *, split_id: int) -> VideoReIDDataset:
    """The loader of `name` on `root`, given the split where the dataset has splits."""
    if has_splits(name):
        return DATASETS[name](root, split_id=split_id)
    if split_id != 0:
        raise ValueError(f"{root}: split_id={split_id}, but {name} has one fixed split (0)")
    return DATASETS[name](root)


def load_synthetic(
    root: Path,
    *,
    layout: str | None = None,
    split_id: int = 0,
    progress: bool = True,
    **params: Any,
) -> VideoReIDDataset:
    """The synthetic dataset at `root`, generated first if `root` is missing or empty.

    An existing synthetic dataset is read with the loader of the layout its manifest records;
    with a `layout` or `params`, `ensure_synthetic` first checks that they match it (and makes
    the dataset if `root` is missing or empty; `layout` then defaults to "mars").
    """
    root = Path(root)
    manifest = read_manifest(root)
    if manifest is None or layout is not None or params:
        wanted = layout or (manifest["layout"] if manifest else "mars")
        ensure_synthetic(root, layout=wanted, progress=progress, **params)
        manifest = read_manifest(root)
    return _open(manifest["layout"], root, split_id=split_id)
