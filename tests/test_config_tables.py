"""Rules decided in one place: which datasets have splits (MARS one fixed split, PRID2011 and
iLIDS-VID ten), which runs Table V's rows chain (docs/decisions.md §6), and how many dense clips
of a test tracklet a run embeds (docs/decisions.md §4)."""

from __future__ import annotations

import re

import pytest

from reidlib.config import (
    PRESETS,
    TABLE5_CELLS,
    has_splits,
    load_profile,
    splits_for,
    table5_chain,
)
from reidlib.data import build_dataset
from tests.data_builders import build_mini_ilids, build_mini_mars


def test_only_prid2011_and_ilidsvid_have_splits():
    assert [has_splits(d) for d in ("mars", "prid2011", "ilidsvid")] == [False, True, True]
    assert splits_for("mars", (3, 5)) == (0,)
    assert splits_for("prid2011", (3, 5)) == splits_for("ilidsvid", [3, 5]) == (3, 5)
    with pytest.raises(ValueError, match="Unknown dataset 'duke'"):
        has_splits("duke")


def test_build_dataset_passes_the_split_where_the_dataset_has_splits(tmp_path):
    ilids = build_dataset("ilidsvid", build_mini_ilids(tmp_path / "i"), split_id=1)
    assert [t.pid for t in ilids.query] == [3, 10]  # row 2 of the mini split file
    mars_root = build_mini_mars(tmp_path / "m")
    assert len(build_dataset("mars", mars_root, split_id=0).query) == 2
    with pytest.raises(ValueError, match="split_id=2, but mars has one fixed split"):
        build_dataset("mars", mars_root, split_id=2)


def test_table5_chains_end_at_their_target():
    assert table5_chain("ImageNet", "prid2011") == ("prid2011",)
    assert table5_chain("MARS", "ilidsvid") == ("mars", "ilidsvid")
    assert table5_chain("MARS + iLIDS-VID", "prid2011") == ("mars", "ilidsvid", "prid2011")
    assert TABLE5_CELLS == (
        ("ImageNet", "prid2011"),
        ("MARS", "prid2011"),
        ("MARS + iLIDS-VID", "prid2011"),
        ("ImageNet", "ilidsvid"),
        ("MARS", "ilidsvid"),
    )


@pytest.mark.parametrize(
    ("row", "target", "message"),
    [
        ("MARS", "mars", "Table V row 'MARS' on 'mars': the paper does not say"),
        ("MARS + iLIDS-VID", "ilidsvid", "row trains on mars -> ilidsvid before its target"),
        ("MARS + iLIDS-VID", "mars", "'MARS + iLIDS-VID' on 'mars'"),
        ("Duke", "prid2011", "Unknown Table V row 'Duke'"),
        ("MARS", "duke", "Unknown dataset 'duke'"),
    ],
)
def test_a_table5_cell_without_a_stated_chain_is_an_error(row, target, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        table5_chain(row, target)


def test_table5s_transfer_rows_are_no_presets():
    assert [p for p in PRESETS if p.startswith("table5_")] == ["table5_imagenet"]
    with pytest.raises(ValueError, match=r"transfer rows are no presets.*--init-checkpoint PATH"):
        load_profile("quick", preset="table5_mars")
    with pytest.raises(ValueError, match="Unknown preset 'table3_t9'") as error:
        load_profile("quick", preset="table3_t9")
    assert "--init-checkpoint" not in str(error.value)  # the hint only for Table V's names


@pytest.mark.parametrize(
    ("data", "clips"),
    [
        ({}, 41),  # the reference code's cap
        ({"test_max_clips": None}, None),  # every clip
        ({"test_max_frames": 8}, 2),  # 8 frames: 2 clips of 4
        ({"test_max_frames": 8, "clip_len": 8}, 1),  # 1 clip of 8: the same frames
        ({"test_max_frames": 3}, 1),  # fewer frames than a clip still keeps one clip
        ({"test_max_frames": 400, "test_max_clips": 41}, 41),  # the smaller cap wins
        ({"test_max_frames": 400, "test_max_clips": None}, 100),
    ],
)
def test_the_test_clips_kept_are_the_smaller_of_the_two_caps(data, clips):
    assert load_profile("full").with_overrides(data=data).data.test_clips == clips


def test_the_quick_profile_embeds_the_first_8_frames_of_a_test_tracklet_at_any_clip_length():
    for preset, clips in (("table3_t4", 2), ("table3_t8", 1)):
        data = load_profile("quick", preset=preset).data
        assert data.test_clips == clips and data.test_clips * data.clip_len == 8
    assert load_profile("full", preset="table3_t8").data.test_clips == 41  # the paper's setting
