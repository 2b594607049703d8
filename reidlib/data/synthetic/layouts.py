"""What each synthetic layout contains: its tracklets, folders, frame names and info files.

A planner draws who is seen by which camera, for how long, and writes the layout's info or
split files (same names, keys and index conventions as the real ones, docs/decisions.md §5); it
returns the tracklets to render and the counts a loader should find.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io

from reidlib.data.synthetic.params import SyntheticParams, mars_train_ids
from reidlib.data.synthetic.streams import Stream, random_stream

DISTRACTOR_KEY, SINGLE_CAMERA_KEY = 100_000, 200_000  # appearance keys beyond the real ids


@dataclass(frozen=True)
class PlannedTracklet:
    """One tracklet to render: where its frames go and who is in it."""

    folder: Path  # relative to the dataset root
    names: tuple[str, ...]  # frame file names, in temporal order
    person_key: int  # appearance seed key (same key = same person)
    camid: int  # 0-based
    mode: str  # "person", "distractor" or "junk"


Plan = tuple[list[PlannedTracklet], dict[str, Any]]


def _lengths(rng: np.random.Generator, size: int, p: SyntheticParams) -> np.ndarray:
    """Tracklet lengths: log-normal around `length_median`, clipped to `length_range`."""
    low, high = p.length_range
    raw = p.length_median * np.exp(0.6 * rng.standard_normal(size))
    return np.clip(np.round(raw), low, high).astype(int)


def save_mat(path: Path, variables: dict[str, np.ndarray]) -> None:
    """`scipy.io.savemat` with a fixed header text, so equal content gives equal bytes."""
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, variables)
    data = bytearray(buffer.getvalue())
    data[:116] = b"MATLAB 5.0 MAT-file, written by reidlib.data.synthetic".ljust(116)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(data))


def plan_mars(root: Path, p: SyntheticParams, rng: np.random.Generator) -> Plan:
    """MARS: `train_fraction` of the ids train, the rest test; test adds pid 0 distractors and
    pid −1 junk.

    Every id is seen by 2 to 5 cameras; a training id 1 to 3 times by each, a test id 2 or 3
    times, so every camera it passes gives one query (`_mars_queries`) and keeps a gallery
    tracklet beside it.
    """
    num_ids, num_cameras = p.num_ids, p.num_cameras
    num_train = mars_train_ids(num_ids, train_fraction=p.train_fraction)
    ids = rng.permutation(np.arange(1, num_ids + 1))
    is_train = {int(pid): i < num_train for i, pid in enumerate(ids)}
    rows: dict[str, list[tuple[int, int, int, str]]] = {"train": [], "test": []}
    for pid in range(1, num_ids + 1):
        cams = np.sort(
            rng.choice(num_cameras, int(rng.integers(2, min(5, num_cameras) + 1)), replace=False)
        )
        if is_train[pid]:
            per_cam = rng.choice([1, 2, 3], size=len(cams), p=[0.5, 0.35, 0.15])
        else:
            per_cam = rng.choice([2, 3], size=len(cams), p=[0.7, 0.3])
        split = "train" if is_train[pid] else "test"
        rows[split] += [
            (pid, int(c), pid, "person") for c, k in zip(cams, per_cam) for _ in range(k)
        ]
    num_test = len(rows["test"])
    for k in range(round(p.distractor_fraction * num_test)):
        rows["test"].append((0, int(rng.integers(num_cameras)), DISTRACTOR_KEY + k, "distractor"))
    for k in range(round(p.junk_fraction * num_test)):
        rows["test"].append((-1, int(rng.integers(num_cameras)), -1 - k, "junk"))

    plan, counts = [], {}
    for split, home in (("train", "bbox_train"), ("test", "bbox_test")):
        entries = sorted(rows[split], key=lambda r: (_mars_pid(r[0]), r[1]))
        lengths = _lengths(rng, len(entries), p)
        names: list[str] = []
        track, serial = [], {}
        for (pid, cam, key, mode), length in zip(entries, lengths.tolist()):
            serial[pid, cam] = serial.get((pid, cam), 0) + 1
            stem = f"{_mars_pid(pid)}C{cam + 1}T{serial[pid, cam]:04d}F"
            frames = tuple(f"{stem}{f:03d}.jpg" for f in range(1, length + 1))
            track.append((len(names) + 1, len(names) + length, pid, cam + 1))
            names += frames
            plan.append(PlannedTracklet(Path(home) / _mars_pid(pid), frames, key, cam, mode))
        info = root / "info"
        info.mkdir(parents=True, exist_ok=True)
        (info / f"{split}_name.txt").write_text("".join(n + "\n" for n in names))
        save_mat(
            info / f"tracks_{split}_info.mat",
            {f"track_{split}_info": np.array(track, dtype=np.int32).reshape(-1, 4)},
        )
        if split == "test":
            query = _mars_queries(track, rng)
            save_mat(info / "query_IDX.mat", {"query_IDX": query[None, :].astype(np.int32)})
            kept = sum(1 for t in track if t[2] != -1)
            counts.update(
                query_tracklets=len(query),
                gallery_tracklets=kept - len(query),
                distractor_tracklets=sum(t[2] == 0 for t in track),
                junk_tracklets=sum(t[2] == -1 for t in track),
            )
        else:
            counts.update(train_ids=num_train, train_tracklets=len(track))
    counts["frames"] = sum(len(t.names) for t in plan)
    return plan, counts


def _mars_pid(pid: int) -> str:
    return "00-1" if pid == -1 else f"{pid:04d}"


def _mars_queries(track: list[tuple[int, int, int, int]], rng: np.random.Generator) -> np.ndarray:
    """1-based query rows: one tracklet per (id, camera) where that camera has two or more."""
    by_view: dict[tuple[int, int], list[int]] = {}
    for row, (_, _, pid, cam) in enumerate(track, start=1):
        if pid > 0:
            by_view.setdefault((pid, cam), []).append(row)
    return np.array(sorted(int(rng.choice(r)) for r in by_view.values() if len(r) >= 2))


def plan_prid2011(root: Path, p: SyntheticParams, rng: np.random.Generator) -> Plan:
    """PRID2011: the first `num_ids` people in both cameras, more in one camera only."""
    num_ids = p.num_ids
    extra_a, extra_b = (round(f * num_ids) for f in p.single_camera_fraction)
    shots = Path("prid_2011") / "multi_shot"
    people = [(f"person_{i:04d}", i, (0, 1)) for i in range(1, num_ids + 1)]
    people += [
        (f"person_{num_ids + j:04d}", SINGLE_CAMERA_KEY + j, (0,)) for j in range(1, extra_a + 1)
    ]
    people += [
        (f"person_{num_ids + j:04d}", 2 * SINGLE_CAMERA_KEY + j, (1,))
        for j in range(1, extra_b + 1)
    ]
    plan, long_enough = [], {}
    for name, key, cams in people:
        for cam, length in zip(cams, _lengths(rng, len(cams), p).tolist()):
            frames = tuple(f"{f:04d}.png" for f in range(1, length + 1))
            plan.append(
                PlannedTracklet(shots / ("cam_a", "cam_b")[cam] / name, frames, key, cam, "person")
            )
            if len(cams) == 2:
                long_enough[name] = long_enough.get(name, True) and length >= p.min_split_length
    eligible = sorted(n for n, ok in long_enough.items() if ok)
    splits = []
    for _ in range(p.num_splits):
        order = [eligible[i] for i in rng.permutation(len(eligible))]
        half = len(order) // 2
        splits.append({"train": sorted(order[half:]), "test": sorted(order[:half])})
    (root / "splits_prid2011.json").write_text(json.dumps(splits, indent=1) + "\n")
    counts = _two_camera_counts(len(splits[0]["train"]), len(splits[0]["test"]))
    counts.update(eligible_ids=len(eligible), frames=sum(len(t.names) for t in plan))
    return plan, counts


def plan_ilidsvid(root: Path, p: SyntheticParams, rng: np.random.Generator) -> Plan:
    """iLIDS-VID: every person in both cameras; folder numbers have gaps, as in the original."""
    num_ids = p.num_ids
    numbers = np.sort(rng.choice(np.arange(1, num_ids + num_ids // 15 + 1), num_ids, replace=False))
    sequences = Path("i-LIDS-VID") / "sequences"
    plan = []
    for number in numbers.tolist():
        person = f"person{number:03d}"
        for cam, length in enumerate(_lengths(rng, 2, p).tolist()):
            first = int(rng.integers(0, 2000))
            frames = tuple(f"cam{cam + 1}_{person}_{first + f:05d}.png" for f in range(length))
            plan.append(
                PlannedTracklet(sequences / f"cam{cam + 1}" / person, frames, number, cam, "person")
            )
    ls_set = np.stack([rng.permutation(num_ids) + 1 for _ in range(p.num_splits)])
    save_mat(
        root / "train-test people splits" / "train_test_splits_ilidsvid.mat",
        {"ls_set": ls_set.astype(np.float64)},
    )  # MATLAB's default class, double
    counts = _two_camera_counts(num_ids - num_ids // 2, num_ids // 2)
    counts["frames"] = sum(len(t.names) for t in plan)
    return plan, counts


def _two_camera_counts(num_train: int, num_test: int) -> dict[str, int]:
    """What a loader of split 0 should find."""
    return {
        "train_ids": num_train,
        "train_tracklets": 2 * num_train,
        "query_tracklets": num_test,
        "gallery_tracklets": num_test,
    }


PLANNERS = {"mars": plan_mars, "prid2011": plan_prid2011, "ilidsvid": plan_ilidsvid}


def plan_layout(root: Path, *, params: SyntheticParams) -> Plan:
    """The tracklets of `params.layout` and the counts its loader should find, drawn from the
    layout stream; writes the info or split files under `root`, renders nothing."""
    return PLANNERS[params.layout](root, params, random_stream(params.seed, Stream.LAYOUT))
