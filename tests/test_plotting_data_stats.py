"""Dataset-statistics figures draw the numbers they are given."""

from __future__ import annotations

import numpy as np
import pandas as pd

from reidlib.plotting import plot_camera_counts, plot_tracklet_lengths


def test_histograms_count_every_tracklet(tmp_path):
    lengths = {"a": [2, 3, 3, 10, 60], "b": [5, 5, 6]}
    fig = plot_tracklet_lengths(lengths, bins=4, out=tmp_path / "h.png")
    assert (tmp_path / "h.png").stat().st_size > 0
    for ax, values in zip(fig.axes, lengths.values()):
        heights = [p.get_height() for p in ax.patches]
        assert len(heights) == 4 and sum(heights) == len(values)
    # 2..60 in 4 bins of width 59/4: 2, 3, 3, 10 in the first, 60 in the last
    assert [p.get_height() for p in fig.axes[0].patches] == [4, 0, 0, 1]


def test_camera_bars_are_the_counts():
    table = pd.DataFrame({"ids": [3, 2], "tracklets": [5, 7]}, index=pd.Index([0, 1], name="camid"))
    fig = plot_camera_counts({"x": table, "y": table * 2})
    for ax, factor in zip(fig.axes, (1, 2)):
        ids, tracklets = ax.containers
        np.testing.assert_array_equal([b.get_height() for b in ids], [3 * factor, 2 * factor])
        np.testing.assert_array_equal([b.get_height() for b in tracklets], [5 * factor, 7 * factor])
        assert [t.get_text() for t in ax.get_xticklabels()] == ["cam 0", "cam 1"]
