"""Table II's memory columns are matched by name: the paper's keys, our `Footprint` fields and
the printed headings (docs/decisions.md §1.4)."""

from __future__ import annotations

import pandas as pd
import pytest

from reidlib.memory.footprint import Footprint
from reidlib.memory.table2 import PEAK, RULE, SAVED, memory_columns, paper_vs_ours_rows
from reidlib.records import TableRow

# distinct values per column, so that a column read from the wrong field shows
RULE_FOOTPRINTS = {
    "ours, 2D (rule)": Footprint(
        input_mb=1.0, forward_backward_mb=2.0, params_mb=3.0, total_mb=6.0
    ),
    "3D baseline (rule)": Footprint(
        input_mb=10.0, forward_backward_mb=20.0, params_mb=30.0, total_mb=60.0
    ),
}
STEP = pd.DataFrame(
    {RULE: [2.0, 20.0], SAVED: [4.0, 12.0], PEAK: [100.0, 500.0]}, index=["ours", "3d"]
)


def test_memory_columns_put_each_footprint_field_under_its_heading():
    table = memory_columns(RULE_FOOTPRINTS)
    assert list(table.columns) == ["Input", "Fwd/bwd pass", "Params", "Total"]
    assert table.loc["ours, 2D (rule)"].tolist() == [1.0, 2.0, 3.0, 6.0]
    assert table.loc["Ours (paper)"].tolist() == [9.19, 171.92, 290.58, 471.69]
    assert table.loc["M3D (paper)"].tolist() == [9.0, 1213.83, 104.58, 1327.41]


def test_paper_vs_ours_rows_pair_the_same_column():
    rows = paper_vs_ours_rows(RULE_FOOTPRINTS, STEP)
    ours = [r for r in rows if r.setting == "ours, torchsummary rule"]
    assert [(r.metric, r.paper, r.ours) for r in ours] == [
        ("Input (MiB)", 9.19, 1.0),
        ("Fwd/bwd pass (MiB)", 171.92, 2.0),
        ("Params (MiB)", 290.58, 3.0),
        ("Total (MiB)", 471.69, 6.0),
    ]
    three_d = [r for r in rows if r.setting.startswith("3D: M3D")]
    assert [(r.metric, r.paper, r.ours) for r in three_d] == [
        ("Fwd/bwd pass (MiB)", 1213.83, 20.0),
        ("Params (MiB)", 104.58, 30.0),
        ("Total (MiB)", 1327.41, 60.0),
    ]
    ratios = {r.setting: (r.paper, r.ours) for r in rows if r.metric == "ratio"}
    assert ratios[f"3D / 2D, {RULE}"] == (pytest.approx(1213.83 / 171.92), 10.0)
    assert ratios[f"3D / 2D, {SAVED}"] == (None, 3.0)
    assert ratios[f"3D / 2D, {PEAK}"] == (None, 5.0)
    assert rows[-2:] == [
        TableRow(setting=f"ours: {PEAK}", metric="MiB", paper=None, ours=100.0),
        TableRow(setting=f"3d: {PEAK}", metric="MiB", paper=None, ours=500.0),
    ]
