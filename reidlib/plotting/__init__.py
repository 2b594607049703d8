"""Figures shared by notebooks and scripts, one module per subject. Each function returns a
matplotlib `Figure` (made without pyplot, so nothing global changes) and optionally saves it."""

from reidlib.plotting.clips import plot_clip_grid, plot_frame_sampling
from reidlib.plotting.data_stats import plot_camera_counts, plot_tracklet_lengths
from reidlib.plotting.frames import plot_camera_views, plot_frame_grid
from reidlib.plotting.memory import plot_memory_bars, plot_memory_curves
from reidlib.plotting.method import plot_lr_schedules
from reidlib.plotting.rank_lists import (
    best_and_worst_queries,
    plot_first_match_ranks,
    plot_rank_lists,
)
from reidlib.plotting.seeds import plot_attention_health, plot_seed_spread
from reidlib.plotting.tables import plot_paper_vs_ours
from reidlib.plotting.training import (
    plot_attention_by_erasing,
    plot_loss_terms,
    plot_lr,
    plot_metrics,
)

__all__ = [
    "best_and_worst_queries",
    "plot_attention_by_erasing",
    "plot_attention_health",
    "plot_camera_counts",
    "plot_camera_views",
    "plot_clip_grid",
    "plot_first_match_ranks",
    "plot_frame_grid",
    "plot_frame_sampling",
    "plot_loss_terms",
    "plot_lr",
    "plot_lr_schedules",
    "plot_memory_bars",
    "plot_memory_curves",
    "plot_metrics",
    "plot_paper_vs_ours",
    "plot_rank_lists",
    "plot_seed_spread",
    "plot_tracklet_lengths",
]
