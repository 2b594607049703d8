"""Clip figures: sampled indices, erased flags and attention weights are drawn where given."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgba

from reidlib.plotting import plot_camera_views, plot_clip_grid, plot_frame_sampling
from reidlib.plotting.clips import ERASED_COLOUR
from reidlib.plotting.frames import camera_caption


def test_sampling_points_are_the_drawn_indices(tmp_path):
    draws = {"restricted": [[0, 5, 9, 14], [2, 4, 11, 15]], "consecutive": [[3, 4, 5, 6]]}
    fig = plot_frame_sampling(draws, num_frames=16, out=tmp_path / "s.png")
    assert (tmp_path / "s.png").is_file()
    for ax, picks in zip(fig.axes, draws.values()):
        points = ax.collections[0].get_offsets()
        expected = [(i, row) for row, clip in enumerate(picks) for i in clip]
        np.testing.assert_array_equal(points, expected)
        assert ax.get_xlim() == (-0.5, 15.5)


def test_clip_grid_marks_erased_frames_and_writes_weights():
    frames = torch.rand(2, 3, 3, 8, 4)
    erased = torch.tensor([[0, 1, 0], [0, 0, 1]])
    weights = torch.tensor([[0.2, 0.5, 0.3], [1 / 3, 1 / 3, 1 / 3]])
    fig = plot_clip_grid(frames, erased=erased, weights=weights, row_labels=["a", "b"])
    assert len(fig.axes) == 6
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [
        "a=0.200",
        "a=0.500 erased",
        "a=0.300",
        "a=0.333",
        "a=0.333",
        "a=0.333 erased",
    ]
    red = [ax.spines["top"].get_edgecolor() == to_rgba(ERASED_COLOUR) for ax in fig.axes]
    assert red == [False, True, False, False, False, True]
    np.testing.assert_allclose(fig.axes[4].images[0].get_array(), frames[1, 1].permute(1, 2, 0))
    assert fig.axes[3].get_ylabel() == "b"


def test_clip_grid_rejects_mismatched_flags():
    with pytest.raises(ValueError, match="erased must be"):
        plot_clip_grid(torch.rand(2, 3, 3, 8, 4), erased=torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"\(N, T, C, H, W\)"):
        plot_clip_grid(torch.rand(3, 3, 8, 4))


def test_camera_views_title_each_column_with_its_effects():
    cameras = [
        {"camid": 0, "view": "front", "channel_gain": [0.6, 1.0, 1.4], "gamma": 0.8,
         "low_res": 1.0, "motion_blur": 0},
        {"camid": 1, "view": "back", "channel_gain": [1.0, 1.0, 1.0], "gamma": 1.25,
         "low_res": 0.3, "motion_blur": 5},
    ]  # fmt: skip
    assert camera_caption(cameras[0]) == "cam 0 · front\ngain 0.60/1.00/1.40\nγ 0.80"
    assert camera_caption(cameras[1]).endswith("γ 1.25, 30% res, blur 5 px")
    frames = np.zeros((3, 2, 8, 4, 3), np.uint8)
    fig = plot_camera_views(frames, cameras)
    axes = fig.axes
    assert len(axes) == 6 and axes[0].get_title() == camera_caption(cameras[0])
    with pytest.raises(ValueError, match="2 columns of frames but 1 cameras"):
        plot_camera_views(frames, cameras[:1])
