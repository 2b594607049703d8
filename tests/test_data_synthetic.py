"""Synthetic datasets: native layouts the real loaders read, determinism, safe regeneration."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import numpy as np
import pytest
import scipy.io

from reidlib.cli import main
from reidlib.data import (
    ILIDSVID,
    PRID2011,
    SYNTHETIC_DEFAULTS,
    Mars,
    build_dataset,
    ensure_synthetic,
    make_synthetic,
    read_frame,
    read_manifest,
    synthetic_params,
)
from reidlib.plotting import plot_frame_grid
from tests.data_builders import snapshot

TINY = {"image_size": (32, 16), "progress": False}
LOADERS = {"mars": Mars, "prid2011": PRID2011, "ilidsvid": ILIDSVID}


@pytest.fixture(scope="module")
def tiny_mars(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic") / "mars"
    return make_synthetic(root, layout="mars", num_ids=12, num_cameras=4, seed=3, **TINY)


@pytest.mark.parametrize("layout", ["mars", "prid2011", "ilidsvid"])
def test_each_loader_finds_the_generated_counts(tmp_path, layout):
    root = make_synthetic(tmp_path / layout, layout=layout, num_ids=12, seed=1, **TINY)
    counts = read_manifest(root)["counts"]
    data = LOADERS[layout](root)
    assert data.num_train_pids == counts["train_ids"]
    assert len(data.train) == counts["train_tracklets"]
    assert len(data.query) == counts["query_tracklets"]
    assert len(data.gallery) == counts["gallery_tracklets"]
    every = data.train + data.query + data.gallery
    assert sorted({t.pid for t in data.train}) == list(range(counts["train_ids"]))
    assert {t.camid for t in every} <= set(range(read_manifest(root)["params"]["num_cameras"]))
    for t in every:
        assert list(t.frames) == sorted(t.frames)
        assert np.asarray(read_frame(t.frames[0])).shape == (32, 16, 3)
    # queries always have a match seen by another camera
    gallery = {(t.pid, t.camid) for t in data.gallery}
    assert all(any(p == q.pid and c != q.camid for p, c in gallery) for q in data.query)


def test_mars_layout_has_junk_distractors_and_real_conventions(tiny_mars):
    info = tiny_mars / "info"
    track = scipy.io.loadmat(info / "tracks_test_info.mat")["track_test_info"]
    query = scipy.io.loadmat(info / "query_IDX.mat")["query_IDX"]
    names = (info / "test_name.txt").read_text().split()
    assert track.dtype == np.int32 and track.shape[1] == 4 and query.shape[0] == 1
    assert track[0, 0] == 1 and track[-1, 1] == len(names)  # 1-based, inclusive
    assert np.all(track[1:, 0] == track[:-1, 1] + 1)
    counts = read_manifest(tiny_mars)["counts"]
    assert (track[:, 2] == -1).sum() == counts["junk_tracklets"] > 0
    assert (track[:, 2] == 0).sum() == counts["distractor_tracklets"] > 0
    assert names[0].startswith("00-1C") and (tiny_mars / "bbox_test" / "00-1").is_dir()
    data = Mars(tiny_mars)
    assert all(t.pid != -1 for t in data.query + data.gallery)
    assert sum(t.pid == 0 for t in data.gallery) == counts["distractor_tracklets"]
    assert all(t.pid > 0 for t in data.query)
    assert len({t.camid for t in data.train + data.gallery}) == 4


def test_same_seed_gives_the_same_bytes(tmp_path):
    for layout in ("mars", "ilidsvid"):
        a = make_synthetic(tmp_path / f"{layout}_a", layout=layout, num_ids=6, seed=7, **TINY)
        b = make_synthetic(tmp_path / f"{layout}_b", layout=layout, num_ids=6, seed=7, **TINY)
        c = make_synthetic(tmp_path / f"{layout}_c", layout=layout, num_ids=6, seed=8, **TINY)
        assert snapshot(a) == snapshot(b)
        assert snapshot(a) != snapshot(c)
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]  # no staging left


def test_ensure_reuses_and_never_overwrites(tmp_path):
    root = tmp_path / "data" / "synthetic"
    params = {"layout": "mars", "num_ids": 6, "num_cameras": 3, "seed": 0, **TINY}
    assert ensure_synthetic(root, **params) == root
    before = snapshot(root)
    assert ensure_synthetic(root, **params) == root  # same parameters: reused
    assert snapshot(root) == before
    manifest = root / "synthetic.json"
    with pytest.raises(FileExistsError, match=re.escape(str(manifest))) as err:
        ensure_synthetic(root, **{**params, "seed": 1})
    assert "{'seed': 0}" in str(err.value)
    with pytest.raises(FileExistsError, match=re.escape(str(manifest))):
        ensure_synthetic(root, **{**params, "layout": "ilidsvid", "num_cameras": None})
    with pytest.raises(FileExistsError, match=re.escape(str(root))):
        make_synthetic(root, **params)
    assert snapshot(root) == before
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("user data")
    with pytest.raises(FileExistsError, match=re.escape(f"{other}: exists without")):
        ensure_synthetic(other, **params)
    assert snapshot(other) == {"notes.txt": b"user data"}
    empty = tmp_path / "empty"
    empty.mkdir()
    assert read_manifest(ensure_synthetic(empty, **params))["params"]["num_ids"] == 6


def test_a_dataset_of_an_earlier_generator_is_named_and_kept(tmp_path, capsys):
    root = make_synthetic(tmp_path / "mars", layout="mars", num_ids=6, num_cameras=3, **TINY)
    manifest = read_manifest(root)
    (root / "synthetic.json").write_text(json.dumps({**manifest, "format_version": 1}))
    before = snapshot(root)
    params = {"num_ids": 6, "num_cameras": 3, **TINY}
    with pytest.raises(FileExistsError, match=r"earlier reidlib generator \(format 1, now 2\)"):
        ensure_synthetic(root, **params)
    assert snapshot(root) == before
    # the command line says it in one line, and how to get the new data
    assert main(["make-synthetic", "--all", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"remove {root} and it is generated again" in err
    assert snapshot(root) == before


def test_parameters_are_recorded_and_rebuilt_from_the_manifest(tmp_path):
    given = {"num_ids": 8, "seed": 2, "num_splits": 3, "image_size": (32, 16)}
    root = make_synthetic(tmp_path / "p", layout="prid2011", progress=False, **given)
    manifest = read_manifest(root)
    assert manifest["layout"] == "prid2011" and manifest["params"]["image_size"] == [32, 16]
    params = synthetic_params("prid2011", **manifest["params"])  # lists back to tuples
    assert params == synthetic_params("prid2011", **given)
    assert params.length_median == SYNTHETIC_DEFAULTS["prid2011"]["length_median"]  # default
    splits = json.loads((root / "splits_prid2011.json").read_text())
    assert len(splits) == 3  # the override, used
    assert len(splits[0]["test"]) == manifest["counts"]["eligible_ids"] // 2


@pytest.mark.parametrize(
    ("layout", "overrides", "says"),
    [
        ("mars", {"num_ids": 3}, "num_ids=3: expected an integer >= 4"),
        ("mars", {"num_cameras": 10}, "num_cameras=10: expected an integer in [2, 9]"),
        ("ilidsvid", {"num_cameras": 3}, "num_cameras=3: expected 2 (the ilidsvid layout has"),
        ("mars", {"seed": -1}, "seed=-1: expected an integer >= 0"),
        ("mars", {"num_ids": 6.0}, "num_ids=6.0: expected an integer >= 4"),
        ("mars", {"image_size": (32, 0)}, "image_size=(32, 0): expected a tuple of two, each"),
        ("mars", {"length_range": (9, 3)}, "length_range=(9, 3): expected a (low, high) tuple"),
        ("mars", {"channel_gain": 1.2}, "channel_gain=1.2: expected a (low, high) tuple"),
        ("mars", {"occlusion_prob": 1.5}, "occlusion_prob=1.5: expected a number in [0, 1]"),
        ("mars", {"view_bias": True}, "view_bias=True: expected a number in [0, 1]"),
        (
            "mars",
            {"train_fraction": 0.01},
            "train_fraction=0.01: expected a fraction of num_ids=128",
        ),
        ("prid2011", {"junk_fraction": 0.1}, "junk_fraction=0.1: expected None for the prid2011"),
        ("prid2011", {"num_splits": 0}, "num_splits=0: expected an integer >= 1"),
        ("duke", {}, "layout='duke': expected one of ['ilidsvid', 'mars', 'prid2011']"),
    ],
)
def test_a_bad_parameter_is_named_with_its_value_and_what_was_expected(
    tmp_path, layout, overrides, says
):
    with pytest.raises(ValueError, match=re.escape(f"synthetic parameter {says}")):
        make_synthetic(tmp_path / "bad", layout=layout, progress=False, **overrides)
    assert not tmp_path.joinpath("bad").exists()  # checked before anything is written


def test_an_unknown_parameter_is_a_type_error_and_a_missing_one_is_named():
    with pytest.raises(TypeError, match="colour"):
        synthetic_params("mars", colour="red")
    with pytest.raises(ValueError, match="num_splits=None: expected a value"):
        replace(synthetic_params("ilidsvid"), num_splits=None)


def test_build_dataset_synthetic_generates_once(tmp_path):
    root = tmp_path / "syn"
    data = build_dataset("synthetic", root, num_ids=6, num_cameras=2, **TINY)
    assert isinstance(data, Mars) and data.num_train_pids == 2  # train_fraction 0.25 of 6 ids
    again = build_dataset("synthetic", root)  # reads the manifest's layout
    assert len(again.train) == len(data.train)


def test_frame_grid_shows_two_cameras_per_identity(tiny_mars, tmp_path):
    data = Mars(tiny_mars)
    fig = plot_frame_grid(data.train, num_ids=3, frames_per_tracklet=2, out=tmp_path / "g.png")
    assert len(fig.axes) == 3 * (2 * 2 + 1)
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")]
    assert len(titles) == 6 and titles[0].startswith("pid 0 · cam ")
    assert (tmp_path / "g.png").stat().st_size > 0
