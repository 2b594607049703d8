"""Which figures a notebook run saved, and which of them reached its page
(`reidlib.notebook.NotebookRun.finish`).

A PNG counts as saved when it is new or rewritten under the run's folder since the run started;
a figure counts as shown when it is a cell's displayed value (an IPython `post_run_cell`
callback reads it) or is passed to `FigureLog.show`. `save_figure` names each figure after its
file, which links the two. Everything is kept per run: two runs in one process share nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.figure import Figure


def png_times(folder: Path) -> dict[Path, int]:
    """Every PNG under `folder` (absolute path) -> its modification time in nanoseconds."""
    return {p.resolve(): p.stat().st_mtime_ns for p in folder.rglob("*.png")}


class FigureLog:
    """The figures of one notebook run: the PNGs it writes under `out_dir`, those shown.

    Args:
        out_dir: the run's output folder; PNGs already there count once rewritten.
    """

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.at_start = png_times(out_dir)
        self.shown: set[Path] = set()  # files of the figures that reached the page
        self.shell: Any = None  # the IPython shell whose cells are watched, while they are

    def record(self, fig: Figure) -> None:
        """Notes that `fig` reached the page (its file is its label, once `save_figure` ran)."""
        if fig.get_label():
            self.shown.add(Path(fig.get_label()))

    def show(self, fig: Figure) -> None:
        """Displays `fig` where the running cell's output goes, and records it."""
        from IPython.display import display

        display(fig)
        self.record(fig)

    def watch(self, shell: Any) -> None:
        """Records each cell's displayed value that is a figure (an IPython `post_run_cell`
        callback on `shell`), until `unwatch`."""
        shell.events.register("post_run_cell", self._cell_ran)
        self.shell = shell

    def unwatch(self) -> None:
        if self.shell is not None:
            self.shell.events.unregister("post_run_cell", self._cell_ran)
            self.shell = None

    def _cell_ran(self, result: Any) -> None:
        """`result`: IPython's `ExecutionResult`; `result.result` is the value the cell showed
        (None when it showed nothing, or ended in `;`)."""
        if isinstance(result.result, Figure):
            self.record(result.result)

    def saved(self) -> list[Path]:
        """The PNGs under `out_dir` written since the run started."""
        return sorted(p for p, t in png_times(self.out_dir).items() if self.at_start.get(p) != t)

    def unshown(self) -> list[Path]:
        """The PNGs saved since the run started whose figure never reached the page."""
        return [p for p in self.saved() if p not in self.shown]
