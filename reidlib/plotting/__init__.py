"""Figures shared by notebooks and scripts, one module per subject. Each function returns a
matplotlib `Figure` (made without pyplot, so nothing global changes) and optionally saves it."""

from reidlib.plotting.frames import plot_frame_grid

__all__ = ["plot_frame_grid"]
