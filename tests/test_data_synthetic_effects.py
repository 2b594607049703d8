"""The synthetic generator's camera and detector effects show in the rendered pixels, are drawn
from the seed within the manifest's ranges, are recorded as used, and leave the default MARS
layout with a test set that can resolve differences (300 or more queries)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from reidlib.config.profiles import PRETRAIN_DATA
from reidlib.data import make_synthetic, read_manifest, render_through_cameras, synthetic_params
from reidlib.data.synthetic import (
    VIEWS,
    Effects,
    Stream,
    build_cameras,
    random_stream,
    render_tracklet,
    sample_camera,
    sample_person,
)
from reidlib.data.synthetic.layouts import plan_layout
from reidlib.data.synthetic.optics import camera_response, low_resolution, motion_blur

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
SMALL = {"num_ids": 8, "seed": 5, "image_size": (32, 16)}


def camera(seed: int, *, effects: Effects = NEUTRAL, view: str = "front", size=(64, 32)):
    return sample_camera(np.random.default_rng(seed), image_size=size, effects=effects, view=view)


def plain_camera(seed: int = 3):
    """A neutral camera without lens blur or noise: each test switches one effect on."""
    cam = camera(seed)
    return replace(cam, blur=False, noise=np.zeros_like(cam.noise))


def walk(cam) -> np.ndarray:
    """Six frames of the same person, box and background through `cam`, `(6, 64, 32, 3)` int."""
    person = sample_person(np.random.default_rng(0))
    frames = render_tracklet(
        person, cam, num_frames=6, rng=np.random.default_rng(1), occlusion_prob=0.0, effects=NEUTRAL
    )
    return frames.astype(int)


def detail(frames: np.ndarray, *, axis: int) -> float:
    """High-frequency energy: mean squared difference of neighbouring pixels along `axis`."""
    return float((np.diff(frames, axis=axis) ** 2).mean())


def test_each_camera_draws_within_the_ranges_and_the_manifest_records_both(tmp_path):
    root = make_synthetic(tmp_path / "m", layout="mars", progress=False, **SMALL)
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
    again = make_synthetic(tmp_path / "n", layout="mars", progress=False, **SMALL)
    assert read_manifest(again)["cameras"] == cameras  # the same seed, the same cameras


def test_the_manifest_records_the_colour_response_each_camera_applies(tmp_path):
    """A grey scene through each of the dataset's cameras comes out as the manifest's gains,
    gamma and brightness (in grey levels) predict."""
    root = make_synthetic(tmp_path / "m", layout="mars", progress=False, **SMALL)
    manifest = read_manifest(root)
    cameras = build_cameras(synthetic_params("mars", **manifest["params"]))
    scene = np.full((64, 32, 16, 3), 0.5, np.float32)  # 64 frames of mid grey
    for recorded, cam in zip(manifest["cameras"], cameras, strict=True):
        frames = camera_response(scene, cam, np.random.default_rng(0), direction=1.0)
        measured = frames.reshape(-1, 3).mean(axis=0)
        gain = np.array(recorded["channel_gain"])
        expected = 255 * (0.5 * gain) ** recorded["gamma"] + recorded["brightness"]
        np.testing.assert_allclose(measured, expected, atol=2.5, err_msg=str(recorded))


def test_a_channel_gain_above_one_brightens_that_channel_only():
    base = replace(plain_camera(), channel_gain=np.ones(3, np.float32))
    plain = walk(base)
    tinted = walk(replace(base, channel_gain=np.array([1.3, 1.0, 0.7], np.float32)))
    np.testing.assert_array_equal(tinted[..., 1], plain[..., 1])  # green: gain 1 in both
    assert tinted[..., 0].mean() > plain[..., 0].mean() + 10
    assert tinted[..., 2].mean() < plain[..., 2].mean() - 10


def test_gamma_and_brightness_move_the_grey_levels():
    base = replace(plain_camera(), gamma=1.0, brightness=0.0)
    mean = walk(base).mean()
    assert walk(replace(base, gamma=1.5)).mean() < mean - 10  # x ** 1.5 < x on [0, 1]
    brighter = walk(replace(base, brightness=20 / 255)).mean()
    assert abs(brighter - mean - 20) < 1  # +20 grey levels (nothing clips at 255 here)


def test_lens_blur_motion_blur_and_low_resolution_remove_detail():
    base = plain_camera()
    sharp = walk(base)
    soft = walk(replace(base, blur=True))
    assert detail(soft, axis=1) < 0.7 * detail(sharp, axis=1)  # 3-tap blur, both directions
    assert detail(soft, axis=2) < 0.7 * detail(sharp, axis=2)
    smeared = walk(replace(base, motion_blur=6))
    assert detail(smeared, axis=2) < 0.5 * detail(sharp, axis=2)  # along the walk
    small = walk(replace(base, low_res=0.25))
    assert detail(small, axis=2) < 0.5 * detail(sharp, axis=2)


def test_low_resolution_and_motion_blur_filters():
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


def test_a_camera_range_changes_only_the_value_drawn_within_it():
    """Each camera value is a function of its own named draw, so widening the gamma range
    changes the gamma and nothing else the camera draws."""
    narrow, wide = camera(5), camera(5, effects=replace(NEUTRAL, gamma=(0.6, 1.6)))
    a, b = narrow.describe(), wide.describe()
    assert a.pop("gamma") == 1.0 and b.pop("gamma") != 1.0
    assert a == b
    np.testing.assert_array_equal(narrow.background, wide.background)
    np.testing.assert_array_equal(narrow.noise, wide.noise)


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
    _, counts = plan_layout(tmp_path, params=synthetic_params("mars"))
    assert counts["query_tracklets"] >= 300  # a rank-1 95% interval of at most ±6 points
    assert counts["train_ids"] == 32  # four batches of 8 × 4 an epoch
    assert counts["gallery_tracklets"] >= counts["query_tracklets"]


def test_no_two_default_datasets_share_people():
    """A person is drawn from (seed, person key) and keys restart at 1 in every layout: the
    first people of the three layouts and of the pre-training data all differ."""
    pretrain = {k: v for k, v in PRETRAIN_DATA.items() if k != "layout"}
    seeds = [synthetic_params(layout).seed for layout in ("mars", "prid2011", "ilidsvid")]
    seeds.append(synthetic_params(PRETRAIN_DATA["layout"], **pretrain).seed)
    looks = {
        tuple(sample_person(random_stream(seed, Stream.PEOPLE, 1)).upper.tolist()) for seed in seeds
    }
    assert len(looks) == 4


def test_another_camera_leaves_the_people_and_the_other_cameras_as_they_were():
    """Each camera and each walk has its own random stream."""
    three = render_through_cameras("mars", num_people=2, num_frames=2, num_cameras=3, **SMALL)
    four = render_through_cameras("mars", num_people=2, num_frames=2, num_cameras=4, **SMALL)
    np.testing.assert_array_equal(four[:, :3], three)


def test_the_same_people_through_every_camera_of_the_generated_dataset(tmp_path):
    root = make_synthetic(tmp_path / "m", layout="mars", progress=False, **SMALL)
    manifest = read_manifest(root)
    params = synthetic_params(manifest["layout"], **manifest["params"])
    described = [{"camid": c, **cam.describe()} for c, cam in enumerate(build_cameras(params))]
    assert described == manifest["cameras"]  # the dataset's own cameras
    frames = render_through_cameras("mars", num_people=2, num_frames=4, **SMALL)
    assert frames.shape == (2, 6, 32, 16, 3) and frames.dtype == np.uint8
    # one person, two cameras: the camera changes the pixels; another seed, other people
    assert np.abs(frames[0, 0].astype(int) - frames[0, 1]).mean() > 10
    other = render_through_cameras("mars", num_people=2, num_frames=4, **{**SMALL, "seed": 6})
    assert np.abs(other.astype(int) - frames).mean() > 10
