"""What a reader sees: a probe notebook with the notebooks' own setup (`start_notebook`) shows
every figure it saves as an image on the page, and `finish()` names a figure left as a file."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

SETUP = """
from reidlib.notebook import start_notebook
from reidlib.plotting import plot_lr_schedules
nb = start_notebook("99_probe", device="cpu", out_dir={out!r})
curves = {{"constant": [1e-3] * 10, "step": [1e-3] * 5 + [1e-4] * 5}}
"""


def run_probe(tmp_path: Path, cells: list[str]) -> nbformat.NotebookNode:
    """Executes the setup and `cells` in a fresh kernel, as papermill and nbval do."""
    out = tmp_path / "figures"
    sources = [SETUP.format(out=str(out)), *cells]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    NotebookClient(notebook, kernel_name="python3", timeout=120).execute()
    return notebook


def outputs(notebook: nbformat.NotebookNode, kind: str) -> list:
    return [o for c in notebook.cells for o in c.get("outputs", []) if kind in o.get("data", {})]


@pytest.mark.slow
def test_every_saved_figure_is_an_image_on_the_page(tmp_path):
    notebook = run_probe(
        tmp_path,
        [
            # a cell ending with the plotting call
            'plot_lr_schedules(curves, out=nb.path("a.png"))',
            # a figure kept in a variable and shown at the end of its cell
            'fig = plot_lr_schedules(curves, out=nb.path("b.png"))\nsteps = 10\nfig',
            # figures shown mid-cell
            'for name in ("c.png", "d.png"):\n    nb.show(plot_lr_schedules(curves, out=nb.path(name)))',
            "nb.finish()",
        ],
    )
    saved = sorted(p.name for p in (tmp_path / "figures").glob("*.png"))
    assert saved == ["a.png", "b.png", "c.png", "d.png"]
    assert len(outputs(notebook, "image/png")) == 4  # one image per saved figure
    bare = [o for o in outputs(notebook, "text/plain") if "image/png" not in o["data"]]
    assert not any("<Figure size" in o["data"]["text/plain"] for o in bare)  # no bare repr
    streams = [o for c in notebook.cells for o in c.outputs if o.output_type == "stream"]
    assert not any(o.name == "stderr" for o in streams)  # no warnings on the page


@pytest.mark.slow
def test_a_figure_left_as_a_file_is_named_by_finish(tmp_path):
    with pytest.raises(CellExecutionError, match=r"hidden\.png: saved but never shown"):
        run_probe(
            tmp_path,
            ['plot_lr_schedules(curves, out=nb.path("hidden.png"))\nsteps = 10', "nb.finish()"],
        )


@pytest.mark.slow
def test_the_clip_browser_redraws_the_chosen_clip(tmp_path):
    notebook = run_probe(
        tmp_path,
        [
            "import numpy as np\n"
            "from reidlib.widgets import clip_browser\n"
            "images = np.zeros((3, 4, 3, 8, 4)); images[1] += 0.5\n"
            "erased = np.eye(3, 4); weights = np.full((3, 4), 0.25)\n"
            "browser = clip_browser(images, erased=erased, weights=weights, labels=list('abc'))\n"
            "picker, out = browser.children\n"
            "first = [o['data']['image/png'] for o in out.outputs]\n"
            "picker.value = 2\n"
            "second = [o['data']['image/png'] for o in out.outputs]\n"
            "assert len(first) == len(second) == 1 and first != second, (first, second)\n"
            "print(picker.max, len(second[0]) > 100)",
        ],
    )
    printed = [o.text for o in notebook.cells[-1].outputs if o.output_type == "stream"]
    assert printed == ["2 True\n"]
