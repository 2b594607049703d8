"""Committed notebooks carry no outputs, run on the `python3` kernel and have one literal-only
`parameters` cell whose values are the quick profile's."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from tests.notebook_list import STEMS

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PARAMETERS = {"PROFILE": "quick", "DATASET": "mars", "DATA_ROOT": "", "DEVICE": "auto", "SEED": 0}


def test_every_part_of_the_paper_has_a_notebook():
    assert tuple(p.stem for p in NOTEBOOKS) == STEMS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_clean(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name}: a cell has outputs"
            assert cell["execution_count"] is None, f"{path.name}: a cell has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_one_literal_parameters_cell_with_quick_defaults(path):
    cells = json.loads(path.read_text())["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: expected one cell tagged 'parameters'"
    values = {}
    for node in ast.parse("".join(tagged[0]["source"])).body:
        assert isinstance(node, ast.Assign), f"{path.name}: only assignments in parameters"
        values[node.targets[0].id] = ast.literal_eval(node.value)  # literals only
    for name, default in PARAMETERS.items():
        assert values.get(name) == default, (path.name, name)
    assert cells[0]["cell_type"] == "markdown" and "> " in "".join(cells[0]["source"]), (
        f"{path.name}: the first cell quotes the paper's claim"
    )
