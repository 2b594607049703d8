"""Decoded frames kept on disk, so that only the first run on a dataset decodes them.

Every evaluation reads the same test frames through the same deterministic resize
(`TestTransform.resize`), and every run's training clips the same training frames through the
same resize (`TrainTransform.resize`) before their random flips, crops and erasing.
`cache_frames` decodes the frames of a set of tracklets at one size once into
`<folder>/<H>x<W>-<key>.npy`, uint8 `(N, H, W, 3)`; later runs memory-map that file and apply
only the rest of the transform (`normalise_pixels`, `TrainTransform.augment`), which gives the
tensor `build_test_transform(size=size)(read_frame(path))` gives, and the training clip the
training transform gives, bit for bit.

The key is a SHA-256 digest of the size, the Pillow and torchvision versions, and every frame's
path, size in bytes and modification time (ns): changed data are decoded again, never read
stale. A file is written under a temporary name and renamed into place (`os.replace`), so a
reader finds a whole file or none; a file of the wrong shape, type or length is decoded again.
Processes that want the same file at once (two notebooks, the processes of a DDP run) take
turns through an advisory lock (`fcntl.flock` on the folder's `.lock`): the first decodes, the
others wait and then read its file. The operating system releases the lock of a process that
dies, so no process waits on a dead one, and none waits on a collective call. The folder is
the runs root's (`frames_dir`), never the dataset's.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import PIL
import torch
from torch import Tensor

from reidlib.data.io import read_frame
from reidlib.data.transforms import TestTransform, build_test_transform, normalise_pixels
from reidlib.progress import progress_bar
from reidlib.types import Tracklet

FRAMES_FOLDER = "frames"  # under the runs root
LOCK_NAME = ".lock"  # held by the process decoding into the folder
CHUNK = 256  # frames decoded per round of the thread pool (bounds the frames held in memory)
# The largest set of frames kept decoded: the quick profile's (15 MB of test frames at 32×16,
# 3.5 MB of training frames) and small ones are; full-size MARS (681k test frames, 51 GB at
# 224×112) is decoded at each evaluation and each step instead, as without a cache.
MAX_CACHE_BYTES = 512 * 2**20


def fits_cache(tracklets: Sequence[Tracklet], *, size: tuple[int, int]) -> bool:
    """Whether the frames of `tracklets` at `size` stay under `MAX_CACHE_BYTES` decoded."""
    frames = len({p for t in tracklets for p in t.frames})
    return frames * size[0] * size[1] * 3 <= MAX_CACHE_BYTES


def frames_dir(runs_root: Path | str) -> Path:
    """Where the runs under `runs_root` keep decoded test frames: `<runs_root>/frames`."""
    return Path(runs_root) / FRAMES_FOLDER


class CachedFrames:
    """The resized test frames of a set of tracklets, memory-mapped from one file.

    `frames.tensor(path)` is the test transform of frame `path`, bit-identical to
    `build_test_transform(size=frames.size)(read_frame(path))`. Pickled (to a DataLoader
    worker), it carries the file's path, not the pixels; the worker maps the file again.

    Args:
        path: the `.npy` file, uint8 `(len(rows), H, W, 3)`.
        size: `(H, W)`.
        rows: the row of each frame in the file.
        pixels: the file already mapped, if it is.
    """

    def __init__(
        self,
        path: Path,
        *,
        size: tuple[int, int],
        rows: dict[Path, int],
        pixels: np.ndarray | None = None,
    ) -> None:
        self.path, self.size, self.rows = path, size, rows
        self._pixels = pixels  # mapped on first use when None

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (len(self.rows), *self.size, 3)

    @property
    def pixels(self) -> np.ndarray:
        """Every frame, uint8 `(N, H, W, 3)`, memory-mapped read-only."""
        if self._pixels is None:
            self._pixels = _open(self.path, self.shape)
            if self._pixels is None:
                raise FileNotFoundError(
                    f"{self.path}: decoded frames missing or damaged; expected {self.shape} "
                    "uint8 (cache_frames decodes them again)"
                )
        return self._pixels

    def __len__(self) -> int:
        return len(self.rows)

    def resized(self, path: Path) -> Tensor:
        """Frame `path` resized, uint8 `(C, H, W)`: what both transforms' `resize` give."""
        row = self.rows.get(path)
        if row is None:
            raise KeyError(f"{path}: not among the {len(self)} frames cached in {self.path}")
        pixels = torch.from_numpy(np.array(self.pixels[row]))  # a copy off the read-only map
        return pixels.permute(2, 0, 1)  # `(H, W, C)` -> `(C, H, W)`

    def tensor(self, path: Path) -> Tensor:
        """The test transform of frame `path`, `(C, H, W)` float32."""
        return normalise_pixels(self.resized(path))

    def check_transform(self, transform: Any) -> None:
        """Refuses a per-frame transform other than the test transform these frames went
        through (None passes: the frames bring their own)."""
        if transform is None or (
            isinstance(transform, TestTransform) and tuple(transform.size) == self.size
        ):
            return
        raise ValueError(
            f"transform {transform!r} does not match the frames cached at {self.size} in "
            f"{self.path}; expected None or build_test_transform(size={self.size})"
        )

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_pixels": None}  # never the pixels themselves

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path}, {len(self)} frames at {self.size})"


def cache_frames(
    tracklets: Sequence[Tracklet],
    *,
    size: tuple[int, int],
    folder: Path,
    workers: int = 0,
    progress: bool = True,
) -> CachedFrames:
    """The test frames of `tracklets` at `size`, decoded now unless `folder` holds them.

    Args:
        tracklets: the tracklets whose frames to keep (query and gallery, say).
        size: `(H, W)` of the test transform.
        folder: where decoded frames are kept (`frames_dir(runs_root)`); never a folder of
            frames or one inside it.
        workers: threads decoding frames (0 or 1: one).
        progress: a progress bar while decoding.

    Raises:
        FileNotFoundError: a frame does not exist.
        FrameReadError: a frame is not a readable image.
    """
    size = (int(size[0]), int(size[1]))
    paths = list(dict.fromkeys(p for t in tracklets for p in t.frames))  # in order, once each
    if not paths:
        raise ValueError("cache_frames got no frames")
    folder = Path(folder)
    data = {os.path.dirname(os.path.abspath(p)) for p in paths}
    here = Path(os.path.abspath(folder))
    among = [str(d) for d in (here, *here.parents) if str(d) in data]
    if among:
        raise ValueError(
            f"{folder}: inside {among[0]}, a folder of frames; decoded frames go under the "
            "runs root (frames_dir), never beside the data"
        )
    path = folder / f"{size[0]}x{size[1]}-{_key(paths, size)}.npy"
    shape = (len(paths), *size, 3)
    pixels = _open(path, shape)
    if pixels is None:
        folder.mkdir(parents=True, exist_ok=True)
        with _locked(folder, progress=progress):
            pixels = _open(path, shape)  # another process may have written it meanwhile
            if pixels is None:
                if path.exists():
                    print(f"{path}: not {shape} uint8 frames; decoding again", file=sys.stderr)
                _write(path, paths, size=size, workers=workers, progress=progress)
                pixels = _open(path, shape)
    rows = {p: i for i, p in enumerate(paths)}
    return CachedFrames(path, size=size, rows=rows, pixels=pixels)


def kept_frames(
    tracklets: Sequence[Tracklet],
    *,
    size: tuple[int, int],
    folder: Path | None,
    workers: int = 0,
    progress: bool = True,
) -> CachedFrames | None:
    """`cache_frames` of `tracklets` where there is a `folder` and their frames fit
    `MAX_CACHE_BYTES` (`fits_cache`); else None: they are decoded at each use."""
    if folder is None or not fits_cache(tracklets, size=size):
        return None
    return cache_frames(tracklets, size=size, folder=folder, workers=workers, progress=progress)


def _key(paths: Sequence[Path], size: tuple[int, int]) -> str:
    """SHA-256 of the size, the decoder versions and each frame's path, size and mtime."""
    versions = f"Pillow {PIL.__version__} torchvision {version('torchvision')}"  # not imported
    digest = hashlib.sha256(f"{size[0]}x{size[1]} {versions}\n".encode())
    for p in paths:
        try:
            stat = os.stat(p)
        except FileNotFoundError:
            raise FileNotFoundError(f"{p}: frame not found") from None
        digest.update(os.fsencode(p) + f"\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:24]


def _open(path: Path, shape: tuple[int, ...]) -> np.ndarray | None:
    """`path` memory-mapped when it holds whole uint8 frames of `shape`, else None (missing,
    damaged or cut short: it is decoded again)."""
    try:
        pixels = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError):  # missing, not an .npy file, or cut short
        return None
    whole = (
        isinstance(pixels, np.memmap)
        and pixels.shape == shape
        and pixels.dtype == np.uint8
        and path.stat().st_size == pixels.offset + pixels.nbytes
    )
    return pixels if whole else None


@contextmanager
def _locked(folder: Path, *, progress: bool) -> Iterator[None]:
    """Holds the lock of `folder` for the `with` block; partial files, left by a process killed
    while it held the lock, are removed once it is held."""
    with (folder / LOCK_NAME).open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if progress:
                print(f"{folder}: another process is decoding frames; waiting", file=sys.stderr)
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            for partial in folder.glob(".*.tmp"):
                partial.unlink(missing_ok=True)
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write(
    path: Path, paths: Sequence[Path], *, size: tuple[int, int], workers: int, progress: bool
) -> None:
    """Decodes and resizes `paths` into `path`, frame after frame, through a temporary file."""
    resize = build_test_transform(size=size).resize
    header = {"descr": "|u1", "fortran_order": False, "shape": (len(paths), *size, 3)}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # the lock's holder writes it
    try:
        with (
            tmp.open("wb") as fh,
            ThreadPoolExecutor(max_workers=max(workers, 1)) as pool,
            progress_bar(
                total=len(paths),
                desc=f"decoding {len(paths)} frames at {size[0]}×{size[1]}",
                unit="frame",
                disable=not progress,
                leave=False,
            ) as bar,
        ):
            np.lib.format.write_array_header_1_0(fh, header)
            for start in range(0, len(paths), CHUNK):
                chunk = paths[start : start + CHUNK]
                for image in pool.map(lambda p: np.asarray(resize(read_frame(p))), chunk):
                    fh.write(image.tobytes())
                bar.update(len(chunk))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
