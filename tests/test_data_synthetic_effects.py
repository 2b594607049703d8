"""The synthetic generator's camera and detector effects do what they claim, are drawn from the
seed within the manifest's ranges, and leave the default MARS layout with a test set that can
resolve differences (300 or more queries)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from reidlib.data import make_synthetic, read_manifest, render_through_cameras, synthetic_params
from reidlib.data.synthetic import build_cameras
from reidlib.data.synthetic_layouts import plan_layout
from reidlib.data.synthetic_render import (
    camera_response,
    low_resolution,
    motion_blur,
    render_tracklet,
)
from reidlib.data.synthetic_scene import VIEWS, Effects, sample_camera, sample_person

NEUTRAL = Effects(  # no colour response, no box offset, one view per camera
    channel_gain=(1.0, 1.0),
    gamma=(1.0, 1.0),
    brightness=0.0,
    view_bias=1.0,
    box_scale=(0.9, 0.9),
    box_shift=0.0,
    motion_blur=0.0,
    low_res=0.0,
    low_res_scale=(1.0, 1.0),
)


def camera(seed: int, *, effects: Effects = NEUTRAL, view: str = "front", size=(64, 32)):
    return sample_camera(np.random.default_rng(seed), image_size=size, effects=effects, view=view)


def test_each_camera_draws_within_the_ranges_and_the_manifest_records_both(tmp_path):
    root = make_synthetic(
        tmp_path / "m", layout="mars", num_ids=8, seed=5, image_size=(32, 16), progress=False
    )
    manifest = read_manifest(root)
    params, cameras = manifest["params"], manifest["cameras"]
    assert manifest["format_version"] == 2
    assert [c["camid"] for c in cameras] == list(range(params["num_cameras"]))
    for c in cameras:
        low, high = params["channel_gain"]
        assert all(low <= g <= high for g in c["channel_gain"]), c
        assert params["gamma"][0] <= c["gamma"] <= params["gamma"][1]
        assert abs(c["brightness"]) <= params["brightness"]  # grey levels of 255, both
        assert params["box_scale"][0] <= c["person_scale"] <= params["box_scale"][1]
        low, high = params["low_res_scale"]
        assert c["low_res"] == 1.0 or low <= c["low_res"] <= high
        assert c["motion_blur"] == 0 or 3 <= c["motion_blur"] <= 8
    assert max(abs(c["brightness"]) for c in cameras) > 1  # grey levels, not [0, 1] units
    views = [c["view"] for c in cameras]
    assert all(views[i] != views[i + 1] for i in range(len(views) - 1))  # sides in turn
    assert set(views) == set(VIEWS)
    again = make_synthetic(
        tmp_path / "n", layout="mars", num_ids=8, seed=5, image_size=(32, 16), progress=False
    )
    assert read_manifest(again)["cameras"] == cameras  # the same seed, the same cameras


def test_channel_gains_gamma_and_brightness_map_a_grey_scene_as_drawn():
    wide = replace(NEUTRAL, channel_gain=(0.55, 1.45), gamma=(0.6, 1.6), brightness=25.0)
    cam = replace(camera(11, effects=wide), blur=False)
    scene = np.full((64, 64, 32, 3), 0.4, np.float32)  # 64 frames of mid grey
    frames = camera_response(scene, cam, np.random.default_rng(0), direction=1.0)
    measured = frames.reshape(-1, 3).mean(axis=0) / 255
    expected = (0.4 * cam.channel_gain) ** cam.gamma + cam.brightness
    np.testing.assert_allclose(measured, expected, atol=0.01)  # flicker and noise average out
    assert np.ptp(cam.channel_gain) > 0.1  # the channels really differ


def test_a_low_resolution_camera_loses_detail_and_motion_blur_smears_behind_the_walker():
    checker = (np.indices((64, 32)).sum(axis=0) % 2 * 255).astype(np.uint8)
    frames = np.repeat(checker[None, :, :, None], 3, axis=3)
    small = low_resolution(frames, 0.25)
    assert small.shape == frames.shape and small.std() < 0.1 * frames.std()
    line = np.zeros((1, 4, 16, 3), np.float32)
    line[:, :, 8] = 1.0
    right = motion_blur(line, 4, direction=1.0)[0, 0, :, 0]
    np.testing.assert_allclose(right[8:12], 0.25)  # spread over 4 px towards the walk
    assert right[:8].sum() == 0 and right[12:].sum() == 0
    left = motion_blur(line, 4, direction=-1.0)[0, 0, :, 0]
    np.testing.assert_allclose(left[5:9], 0.25)


def test_the_view_changes_what_is_rendered():
    """A red backpack covers the back of a blue top with a yellow logo; from the front only the
    logo and straps show."""
    person = replace(
        sample_person(np.random.default_rng(0)),
        upper=np.array([0.1, 0.2, 0.8], np.float32),
        upper2=np.array([0.9, 0.8, 0.1], np.float32),
        pattern="logo",
        bag="backpack",
        bag_colour=np.array([0.85, 0.1, 0.1], np.float32),
        long_hair=False,
    )

    def torso(view: str) -> np.ndarray:
        cam = replace(camera(3, view=view), blur=False, light=0.0)
        frames = render_tracklet(
            person,
            cam,
            num_frames=6,
            rng=np.random.default_rng(1),
            occlusion_prob=0.0,
            effects=NEUTRAL,
        )
        return frames[:, 18:28, 12:20].reshape(-1, 3).mean(axis=0)  # the middle of the torso

    back, front = torso("back"), torso("front")
    assert back[0] > back[2] + 60  # red pack
    assert front[2] > front[0]  # blue top (and a yellow logo)


def test_default_mars_layout_has_300_queries_and_a_small_training_set(tmp_path):
    params = synthetic_params("mars")
    _, counts = plan_layout(tmp_path, layout="mars", params=params)
    assert counts["query_tracklets"] >= 300  # a rank-1 95% interval of at most ±6 points
    assert counts["train_ids"] == 32  # four batches of 8 × 4 an epoch
    assert counts["gallery_tracklets"] >= counts["query_tracklets"]


def test_no_two_layouts_share_people():
    """A person is drawn from (seed, person key) and keys restart at 1 in every layout, so the
    layouts' default seeds must differ, as the real datasets' identities do."""
    seeds = [synthetic_params(layout)["seed"] for layout in ("mars", "prid2011", "ilidsvid")]
    assert len(set(seeds)) == 3


def test_the_same_people_through_every_camera_of_the_generated_dataset(tmp_path):
    small = {"num_ids": 8, "seed": 5, "image_size": (32, 16)}
    root = make_synthetic(tmp_path / "m", layout="mars", progress=False, **small)
    described = [
        {"camid": c, **cam.describe()}
        for c, cam in enumerate(build_cameras(read_manifest(root)["params"]))
    ]
    assert described == read_manifest(root)["cameras"]  # the dataset's own cameras
    frames = render_through_cameras("mars", num_people=2, num_frames=4, **small)
    assert frames.shape == (2, 6, 32, 16, 3) and frames.dtype == np.uint8
    np.testing.assert_array_equal(
        frames, render_through_cameras("mars", num_people=2, num_frames=4, **small)
    )
    # one person, two cameras: the camera changes the pixels; another seed, other people
    assert np.abs(frames[0, 0].astype(int) - frames[0, 1]).mean() > 10
    other = render_through_cameras("mars", num_people=2, num_frames=4, **{**small, "seed": 6})
    assert np.abs(other.astype(int) - frames).mean() > 10
