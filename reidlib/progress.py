"""Progress bars: every long loop of reidlib shows one through `progress_bar`.

In Jupyter `tqdm.auto` draws a widget, and each redraw is a message from the kernel. A client
that reads the kernel's output only once a cell has finished (nbval does) loses messages past
the output socket's high-water mark, the cell's end among them, and fails the cell. So bars
redraw at most once a second, and a training run has one bar over all its steps.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tqdm.auto import tqdm

MININTERVAL = 1.0  # seconds between two redraws of a bar


def progress_bar(iterable: Iterable[Any] | None = None, **kwargs: Any) -> tqdm:
    """`tqdm.auto.tqdm(iterable, **kwargs)` redrawn at most every `MININTERVAL` seconds."""
    return tqdm(iterable, mininterval=MININTERVAL, **kwargs)
