"""A notebook fails when a figure it saved under its output folder never reached its page; what
it recorded belongs to its `NotebookRun`, and starting one changes no pandas option."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from IPython.core.events import EventManager
from IPython.core.interactiveshell import ExecutionInfo, ExecutionResult
from matplotlib.figure import Figure

from reidlib.notebook import start_notebook
from reidlib.plotting.save import save_figure

REPO = Path(__file__).resolve().parents[1]


class KernelShell:
    """What `start_notebook` uses of a Jupyter kernel's IPython shell: line magics and events
    (IPython's own `EventManager`, which a kernel triggers after every cell)."""

    def __init__(self) -> None:
        self.events = EventManager(self, ["pre_run_cell", "post_run_cell"])
        self.magics: list[tuple[str, str]] = []

    def run_line_magic(self, name: str, line: str) -> None:
        self.magics.append((name, line))

    def run_cell(self, shown: object) -> None:
        """A cell whose displayed value (its last expression, as the display hook records it)
        is `shown`; None for a cell that shows nothing."""
        info = ExecutionInfo(
            "...", store_history=True, silent=False, shell_futures=True, cell_id="c"
        )
        result = ExecutionResult(info)
        result.result = shown
        self.events.trigger("post_run_cell", result)


@pytest.fixture
def kernel(monkeypatch) -> KernelShell:
    shell = KernelShell()
    monkeypatch.setattr("IPython.get_ipython", lambda: shell)
    return shell


def saved(out: Path) -> Figure:
    """A one-line figure saved at `out`, as every `reidlib.plotting` function saves."""
    fig = Figure(figsize=(2, 1))
    fig.subplots().plot([0, 1], [1, 0])
    return save_figure(fig, out)


def saved_yesterday(out: Path) -> Figure:
    """A figure an earlier run saved at `out`."""
    fig = saved(out)
    day_ago = out.stat().st_mtime - 86400
    os.utime(out, (day_ago, day_ago))
    return fig


def test_a_figure_saved_but_never_shown_fails_the_notebook_naming_its_file(tmp_path, kernel):
    nb = start_notebook("99_probe", device="cpu", out_dir=str(tmp_path / "out"))
    assert kernel.magics == [("matplotlib", "inline")]
    kernel.run_cell(saved(nb.path("curves.png")))  # a cell ending with the plotting call
    nb.show(saved(nb.path("grid_a.png")))  # shown mid-cell
    saved(nb.path("grid_b.png"))  # saved, never shown
    kernel.run_cell(None)
    saved(tmp_path / "elsewhere.png")  # outside out_dir: not this notebook's
    with pytest.raises(RuntimeError, match="saved but never shown") as error:
        nb.finish()
    assert str(error.value).startswith(f"{tmp_path / 'out' / 'grid_b.png'}: saved")
    assert "curves.png" not in str(error.value) and "grid_a.png" not in str(error.value)


def test_a_notebook_whose_figures_all_reached_the_page_finishes(tmp_path, kernel):
    out = tmp_path / "out"
    out.mkdir()
    saved_yesterday(out / "kept.png")  # an earlier run's figure, not written again: unchecked
    nb = start_notebook("99_probe", device="cpu", out_dir=str(out))
    kernel.run_cell(saved(nb.path("curves.png")))
    kernel.run_cell(nb.write_metrics(runs=[]))  # a cell showing something else
    nb.show(saved(nb.path("sub/grid.png")))
    nb.finish()
    assert kernel.events.callbacks["post_run_cell"] == []  # finish stops watching the cells
    kernel.run_cell(None)  # later cells reach nobody


def test_an_earlier_figure_written_again_is_checked_again(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    old = saved_yesterday(out / "curves.png")
    nb = start_notebook("99_probe", device="cpu", out_dir=str(out))
    save_figure(old, nb.path("curves.png"))  # written again by this run, never shown
    with pytest.raises(RuntimeError, match=r"curves\.png: saved but never shown"):
        nb.finish()


def test_two_notebook_runs_in_one_process_keep_their_figures_apart(tmp_path, kernel):
    first = start_notebook("99_probe", device="cpu", out_dir=str(tmp_path / "first"))
    second = start_notebook("99_probe", device="cpu", out_dir=str(tmp_path / "second"))
    fig = saved(second.path("metrics.png"))
    first.show(fig)  # shown through the first run: the second never saw it
    kernel.run_cell(saved(first.path("curves.png")))  # both watch the page: both record it
    first.finish()
    assert len(kernel.events.callbacks["post_run_cell"]) == 1  # the second run's
    with pytest.raises(RuntimeError, match=r"metrics\.png"):
        second.finish()
    assert first.figures.shown == {
        (tmp_path / p).resolve() for p in ("second/metrics.png", "first/curves.png")
    }
    assert second.figures.shown == {(tmp_path / "first/curves.png").resolve()}


def pandas_options(node=None, prefix: str = "") -> dict[str, object]:
    """Every pandas option (`pd.options`) -> its current value. Self-contained, so that a fresh
    process can run its source."""
    import warnings

    import pandas as pd

    values = {}
    with warnings.catch_warnings():  # reading a deprecated option warns
        warnings.simplefilter("ignore")
        node = pd.options if node is None else node
        for key in dir(node):
            value = getattr(node, key)
            nested = type(value).__name__ == "DictWrapper"
            values |= pandas_options(value, f"{prefix}{key}.") if nested else {prefix + key: value}
    return values


def test_starting_a_notebook_changes_no_pandas_option(tmp_path, kernel):
    # a precision no notebook would pick, whatever earlier tests of this process did
    with pd.option_context("display.precision", 7):
        before = pandas_options()
        assert len(before) > 50 and before["display.precision"] == 7
        start_notebook("99_probe", device="cpu", out_dir=str(tmp_path / "out"))
        assert pandas_options() == before


@pytest.mark.slow
def test_importing_the_notebook_helper_changes_no_pandas_option(tmp_path):
    code = inspect.getsource(pandas_options) + (
        "before = pandas_options()\n"
        "import reidlib.notebook\n"
        "assert pandas_options() == before, 'import'\n"
        f"reidlib.notebook.start_notebook('99_probe', device='cpu', out_dir={str(tmp_path)!r})\n"
        "assert pandas_options() == before, 'start'\n"
        "print('unchanged')"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 0 and run.stdout.strip() == "unchanged", run.stderr[-2000:]
