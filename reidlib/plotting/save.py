"""Saving a figure where a plotting function was asked to (`out=`)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure


def save_figure(fig: Figure, out: Path | str | None, *, dpi: int = 120) -> Figure:
    """Saves `fig` as PNG at `out` (folders created) when `out` is given; returns `fig`."""
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=dpi)
    return fig
