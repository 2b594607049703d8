"""Errors raised on malformed datasets.

Missing files and folders raise the built-in `FileNotFoundError`; everything that exists but
does not hold what a loader expects raises a `DatasetError`. Every message starts with the path
concerned and says what was expected, so the user knows which file to fix or re-download.
"""

from __future__ import annotations


class DatasetError(ValueError):
    """A dataset file or folder exists but does not hold what the loader expects."""


class FrameReadError(DatasetError):
    """A frame file exists but cannot be decoded as an image.

    The constructor takes a single message, so a DataLoader worker can re-raise it in the main
    process with the same type and the frame's path in the message.
    """
