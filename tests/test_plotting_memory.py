"""Memory figures: bar heights and curve points are the values passed."""

from __future__ import annotations

import math

import numpy as np

from reidlib.plotting import plot_memory_bars, plot_memory_curves


def test_bars_are_the_values_and_missing_ones_are_gaps(tmp_path):
    values = {
        "ours": {"rule": 171.92, "measured": 950.0},
        "3d": {"rule": 654.6, "measured": 1200.0},
        "M3D (paper)": {"rule": 1213.83, "measured": None},
    }
    fig = plot_memory_bars(values, title="t", log=True, out=tmp_path / "m.png")
    assert (tmp_path / "m.png").is_file()
    ax = fig.axes[0]
    rule, measured = ax.containers
    np.testing.assert_allclose([b.get_height() for b in rule], [171.92, 654.6, 1213.83])
    heights = [b.get_height() for b in measured]
    assert heights[:2] == [950.0, 1200.0] and math.isnan(heights[2])
    assert [t.get_text() for t in ax.get_xticklabels()] == list(values)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["rule", "measured"]
    assert ax.get_yscale() == "log"


def test_curves_are_the_points_in_setting_order():
    curves = {"ours, rule": {4: 14.0, 2: 14.0, 8: 14.0}, "3d, saved": {2: 30.0, 4: 61.0}}
    ax = plot_memory_curves(curves).axes[0]
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [2, 4, 8])
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [14.0, 14.0, 14.0])
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), [30.0, 61.0])
    assert ax.lines[0].get_linestyle() == "--" and ax.lines[1].get_linestyle() == "-"
