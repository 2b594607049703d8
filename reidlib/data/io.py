"""Reading frames and info files, with errors that name the file concerned."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import scipy.io
from PIL import Image, UnidentifiedImageError

from reidlib.data.errors import DatasetError, FrameReadError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def read_frame(path: Path) -> Image.Image:
    """Decodes one frame as an RGB image.

    Raises:
        FileNotFoundError: `path` does not exist.
        FrameReadError: `path` exists but is not a readable image.
    """
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: frame not found") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        # `from None`: the message carries the cause; PIL's internals are not the user's concern
        raise FrameReadError(f"{path}: not a readable image ({exc})") from None


def require_dir(path: Path, *, what: str) -> Path:
    """Returns `path` if it is a folder, else raises `FileNotFoundError` saying what it holds."""
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: folder missing; expected {what}")
    return path


def require_file(path: Path, *, what: str) -> Path:
    """Returns `path` if it is a file, else raises `FileNotFoundError` saying what it holds."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file missing; expected {what}")
    return path


class FrameListing(NamedTuple):
    """What one tracklet folder holds, both sorted by name."""

    frames: tuple[Path, ...]
    ignored: tuple[Path, ...]  # hidden entries (`._0001.png`, `.DS_Store`), non-images, folders


def is_frame_name(name: str) -> bool:
    """Whether a file name can be a frame: not hidden, and an image suffix (any case).

    macOS writes an AppleDouble `._<name>` beside every file it copies or unpacks; it carries
    the image's suffix but holds no image, so hidden names are never frames.
    """
    return not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES


def scan_frames(folder: Path) -> FrameListing:
    """The frames of one tracklet folder and the entries that are not frames.

    Hidden names, names without an image suffix and folders are ignored. A frame is not opened
    here (see `reidlib.data.check.check_dataset`); a broken link with an image name is a frame.

    Raises:
        DatasetError: the folder holds no frame.
    """
    frames, ignored = [], []
    with os.scandir(folder) as entries:
        for entry in entries:
            if is_frame_name(entry.name) and not entry.is_dir():
                frames.append(folder / entry.name)
            else:
                ignored.append(folder / entry.name)
    if not frames:
        names = sorted(p.name for p in ignored)
        held = f"; hidden and non-image entries ignored: {names[:3]}" if names else ""
        raise DatasetError(
            f"{folder}: empty tracklet folder; expected frames ({', '.join(IMAGE_SUFFIXES)}){held}"
        )
    return FrameListing(tuple(sorted(frames)), tuple(sorted(ignored)))


def list_frames(folder: Path) -> tuple[Path, ...]:
    """The frames of one tracklet folder, sorted by name (see `scan_frames`).

    Raises:
        DatasetError: the folder holds no frame.
    """
    return scan_frames(folder).frames


def load_mat_array(path: Path, key: str, *, ndim: int, source: str) -> np.ndarray:
    """Reads the integer matrix `key` from a MATLAB file.

    Args:
        path: the `.mat` file.
        key: the variable to read.
        ndim: 2 for a matrix; 1 for a vector (any `(1, n)` or `(n, 1)` shape is flattened).
        source: where the official file comes from, quoted when it is missing.

    Returns:
        The matrix as `int64`.
    """
    require_file(path, what=f"a MATLAB file with variable {key!r}; {source}")
    try:
        content = scipy.io.loadmat(path)
    except Exception as exc:  # scipy raises several unrelated types on a corrupt file
        raise DatasetError(f"{path}: not a readable MATLAB file ({exc})") from None
    if key not in content:
        found = sorted(k for k in content if not k.startswith("__"))
        raise DatasetError(f"{path}: no variable {key!r} (found {found})")
    array = np.asarray(content[key])
    if ndim == 1:
        array = array.reshape(-1)
    if array.ndim != ndim or not np.issubdtype(array.dtype, np.number):
        raise DatasetError(
            f"{path}: {key!r} has shape {array.shape} and dtype {array.dtype}; "
            f"expected a {ndim}-d numeric array"
        )
    if not np.array_equal(array, np.round(array)):
        raise DatasetError(f"{path}: {key!r} holds non-integer values; expected indices")
    return array.astype(np.int64)


def load_json(path: Path, *, source: str) -> Any:
    """Reads a JSON file, naming it on any failure."""
    require_file(path, what=f"a JSON split file; {source}")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc})") from None
