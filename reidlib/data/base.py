"""What every video re-id dataset exposes: train, query and gallery tracklets."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from reidlib.data.errors import DatasetError
from reidlib.types import Tracklet

_log = logging.getLogger(__name__)


class VideoReIDDataset:
    """Train, query and gallery tracklets of one dataset (and split).

    Attributes:
        name: dataset name, as in `reidlib.data.factory.DATASETS`.
        root: the folder the dataset was read from.
        train: training tracklets; pids relabelled `0..N-1`.
        query: query tracklets; original pids.
        gallery: gallery tracklets; original pids (MARS keeps pid 0 distractors here).
        ignored: entries of the tracklet folders read that are not frames (hidden files such as
            macOS's `._0001.png`, non-image files, folders); said once, as a logged warning.
    """

    name: str = "video_reid"

    def __init__(
        self,
        *,
        root: Path,
        train: list[Tracklet],
        query: list[Tracklet],
        gallery: list[Tracklet],
        ignored: Sequence[Path] = (),
    ) -> None:
        self.root = root
        self.train = train
        self.query = query
        self.gallery = gallery
        self.ignored = tuple(ignored)
        if self.ignored:
            _log.warning(ignored_message(root, self.ignored))

    @property
    def num_train_pids(self) -> int:
        """`N`: the number of training identities (the classifier's width)."""
        return len({t.pid for t in self.train})

    @property
    def num_cameras(self) -> int:
        """Cameras seen in any split."""
        return len({t.camid for t in (*self.train, *self.query, *self.gallery)})

    def summary(self) -> pd.DataFrame:
        """Identities, tracklets and frames per split, one row per split."""
        rows = {}
        for split, tracklets in (
            ("train", self.train),
            ("query", self.query),
            ("gallery", self.gallery),
        ):
            lengths = pd.Series([len(t.frames) for t in tracklets], dtype="int64")
            rows[split] = {
                "ids": len({t.pid for t in tracklets}),
                "tracklets": len(tracklets),
                "frames": int(lengths.sum()),
                "min_len": int(lengths.min()) if len(lengths) else 0,
                "mean_len": round(float(lengths.mean()), 1) if len(lengths) else 0.0,
                "max_len": int(lengths.max()) if len(lengths) else 0,
                "cameras": len({t.camid for t in tracklets}),
            }
        return pd.DataFrame.from_dict(rows, orient="index")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(root={str(self.root)!r}, train={len(self.train)}, "
            f"query={len(self.query)}, gallery={len(self.gallery)}, "
            f"num_train_pids={self.num_train_pids})"
        )


def ignored_message(root: Path, ignored: Sequence[Path]) -> str:
    """One line: how many entries were ignored under `root`, with the first as an example."""
    example = ignored[0].relative_to(root) if ignored[0].is_relative_to(root) else ignored[0]
    entries = "entry" if len(ignored) == 1 else "entries"
    return f"{root}: ignored {len(ignored)} hidden or non-image {entries} (e.g. {example})"


def relabel(tracklets: Sequence[Tracklet]) -> list[Tracklet]:
    """Maps the pids of `tracklets` to `0..N-1` in increasing order of the original pid."""
    label = {pid: i for i, pid in enumerate(sorted({t.pid for t in tracklets}))}
    return [t._replace(pid=label[t.pid]) for t in tracklets]


def check_not_empty(tracklets: Sequence[Tracklet], *, split: str, source: Path) -> None:
    """Raises if a split came out empty, naming the file that defined it."""
    if not tracklets:
        raise DatasetError(f"{source}: defines no {split} tracklets; expected at least one")
