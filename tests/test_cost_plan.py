"""What `make run PROFILE=full` trains (`reidlib.cost_plan`): runs, steps, evaluations, FLOPs."""

from __future__ import annotations

import pytest

import reidlib.cost_plan as cost_plan
from reidlib.config import load_profile
from reidlib.cost_plan import Flops, chain_run, reproduction_plan, run_cost, run_flops
from reidlib.training import run_dir

ONE = Flops(convolution=1, matmul=0)


@pytest.fixture
def unit_flops(monkeypatch):
    """Every step and clip counted as one FLOP: the plan's counting without the meta runs."""
    monkeypatch.setattr(cost_plan, "run_flops", lambda cfg, *, num_classes: (ONE, ONE))


def test_the_base_mars_run_is_counted(unit_flops):
    run = run_cost("base", load_profile("full"))
    assert (run.steps_per_epoch, run.steps, run.evaluations) == (78, 9360, 12)  # 625 ids // 8
    assert run.test_clips == (1980 + 9330) * 14  # 56 frames: 14 clips of 4
    assert run.train_frames == 9360 * 32 * 4
    assert run.flops().total == 9360 + 12 * run.test_clips


def test_small_datasets_fill_the_clip_cap(unit_flops):
    prid = run_cost("x", load_profile("full", dataset="prid2011"))
    assert (prid.steps_per_epoch, prid.test_clips) == (11, (89 + 89) * 41)


def test_a_step_and_a_clip_are_counted_on_shapes():
    step, clip = run_flops(load_profile("full"), num_classes=625)
    assert step.convolution == 2_407_677_886_464 and step.matmul == 258_342_912  # B=32, T=4
    assert clip.convolution == 25_237_329_920  # one dense test clip


def test_the_mars_plan_trains_each_run_once(unit_flops):
    plan = {nb.notebook: nb for nb in reproduction_plan("mars")}
    assert [r.label for r in plan["03_backbone"].trains] == ["resnet50"]
    assert plan["03_backbone"].reuses == ["resnet50_ibn_a (= base)"]
    transfer = plan["06_transfer_learning"]
    assert [(r.label, r.dataset) for r in transfer.trains] == [
        ("ImageNet init", "prid2011"),
        ("ImageNet init", "ilidsvid"),
        ("MARS init", "prid2011"),
        ("MARS init", "ilidsvid"),
        ("MARS + iLIDS-VID init", "prid2011"),
    ]
    assert transfer.reuses == ["MARS source (= base)"]
    # 02's base over two seeds, 09's eight rows over the same two (its recipe is 02's base)
    assert plan["09_what_matters"].reuses == ["recipe (= base)", "recipe, seed 1 (= base, seed 1)"]
    assert len(plan["09_what_matters"].trains) == 14 and len(plan["02_training"].trains) == 2
    assert sum(len(nb.trains) for nb in plan.values()) == 25
    assert sum(nb.steps for nb in plan.values()) == 61_320 + 15 * 9_360  # a MARS run: 9,360
    assert sum(nb.evaluations for nb in plan.values()) == 122 + 15 * 12  # 02 and 08 once more


def test_another_dataset_after_mars_adds_four_runs(unit_flops):
    trained = {}
    reproduction_plan("mars", trained=trained)
    after = reproduction_plan("prid2011", trained=trained)
    assert sum(len(nb.trains) for nb in after) == 19  # 02-05 and 09 (seeds 0-1); 06's exist


def test_a_chain_starts_from_its_previous_link():
    via = chain_run(("mars", "ilidsvid"))
    last = chain_run(("mars", "ilidsvid", "prid2011"))
    assert via.train.init_checkpoint == str(run_dir(load_profile("full")) / "last.pt")
    assert last.train.init_checkpoint == str(run_dir(via) / "last.pt")
    assert last.data.dataset == "prid2011"
