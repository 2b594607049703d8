"""Saving a figure where a plotting function was asked to (`out=`), and remembering it, so that
a notebook can check that every figure it saved also reached its page
(`reidlib.notebook.NotebookRun.finish`)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

SAVED: list[tuple[Figure, Path]] = []  # every figure saved in this process, in order


def save_figure(fig: Figure, out: Path | str | None, *, dpi: int = 120) -> Figure:
    """Saves `fig` as PNG at `out` (folders created) when `out` is given; returns `fig`."""
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=dpi)
        SAVED.append((fig, Path(out)))
    return fig
