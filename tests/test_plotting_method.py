"""The schedule figure draws each form's rates at 1-based epochs."""

from __future__ import annotations

import numpy as np

from reidlib.plotting import plot_lr_schedules
from reidlib.training.schedule import lr_at_epoch


def test_each_form_is_drawn_at_its_rates(tmp_path):
    forms = ("reference", "paper", "paper_printed")
    schedules = {f: [lr_at_epoch(e, form=f) for e in range(120)] for f in forms}
    fig = plot_lr_schedules(schedules, milestones=(40, 70), zoom_epochs=12, out=tmp_path / "lr.png")
    assert (tmp_path / "lr.png").is_file()
    whole, zoom = fig.axes
    for i, values in enumerate(schedules.values()):
        np.testing.assert_array_equal(whole.lines[i].get_xdata(), np.arange(1, 121))
        np.testing.assert_array_equal(whole.lines[i].get_ydata(), values)
        np.testing.assert_array_equal(zoom.lines[i].get_ydata(), values[:12])
    assert [ln.get_xdata()[0] for ln in whole.lines[3:]] == [40, 70]  # milestone markers
    assert whole.get_yscale() == "log"
