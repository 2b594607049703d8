"""What the notebooks recorded under figures/quick/ after `make run` or the nbval pass.

`make test` runs the notebooks first and sets REIDLIB_REQUIRE_NOTEBOOK_RESULTS=1, so there a
missing file fails; a plain `pytest` before any notebook has run skips these tests.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.notebook_list import STEMS

FIGURES = Path(__file__).resolve().parents[1] / "figures" / "quick"
REQUIRED = os.environ.get("REIDLIB_REQUIRE_NOTEBOOK_RESULTS") == "1"


def read(stem: str) -> dict:
    path = FIGURES / stem / "metrics.json"
    if not path.is_file():
        if REQUIRED:
            pytest.fail(f"{path}: missing; the notebook {stem} did not write its results")
        pytest.skip(f"{path}: the notebooks have not run yet")
    return json.loads(path.read_text())


@pytest.mark.parametrize("stem", STEMS)
def test_each_notebook_labels_its_results(stem):
    metrics = read(stem)
    assert metrics["profile"] == "quick"
    assert metrics["device"] and metrics["dataset"]
    assert (FIGURES / stem / "table.csv").is_file()


def test_training_learns_far_beyond_the_untrained_network():
    metrics = read("02_training")
    untrained, trained = metrics["untrained"], metrics["runs"][0]
    assert trained["num_valid_queries"] == untrained["num_valid_queries"] > 0
    # the margin the quick profile is designed for (README, results): rank-1 at least doubles
    # and gains at least 20 points over the untrained network on the same queries
    assert trained["rank1"] >= 2 * untrained["rank1"], (trained, untrained)
    assert trained["rank1"] - untrained["rank1"] >= 20, (trained, untrained)
    assert trained["mAP"] > untrained["mAP"]


def test_ablation_runs_all_learn():
    for stem in ("03_backbone", "04_clip_length", "05_batch_size", "06_transfer_learning"):
        for run in read(stem)["runs"]:
            assert run["rank1"] > 2 * run["chance_rank1"], (stem, run)
