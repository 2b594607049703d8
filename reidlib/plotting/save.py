"""Saving a figure where a plotting function was asked to (`out=`)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure


def save_figure(fig: Figure, out: Path | str | None, *, dpi: int = 120) -> Figure:
    """Saves `fig` as PNG at `out` (folders created) when `out` is given, and names the figure
    after its file (`fig.get_label()`, the absolute path), which is how a notebook tells which
    file a figure on its page is (`reidlib.plotting.page`); returns `fig`."""
    if out is not None:
        path = Path(out).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=dpi)
        fig.set_label(str(path))
    return fig
