"""Runs trained side by side on a CPU (`reidlib.training.side_by_side`) and the check that says
which runs are finished (`reidlib.training.trainer.finished`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reidlib.training import run_dir, train
from reidlib.training.side_by_side import (
    MAX_PROCESSES,
    MIN_RUNS,
    share_threads,
    train_side_by_side,
    unfinished,
)
from reidlib.training.trainer import LAST, finished
from tests.data_builders import TINY_MARS
from tests.test_training import tiny_config


@pytest.mark.parametrize(
    ("runs", "threads", "expected"),
    [
        (14, 2, (2, 1)),  # the reference CPU: two runs at a time, one thread each
        (1, 2, (1, 2)),  # one run keeps every thread
        (3, 16, (3, 5)),  # no more processes than runs
        (10, 16, (MAX_PROCESSES, 16 // MAX_PROCESSES)),
        (5, 1, (1, 1)),
    ],
)
def test_share_threads(runs, threads, expected):
    assert share_threads(runs, threads) == expected


def test_share_threads_refuses_nothing_to_share():
    with pytest.raises(ValueError, match="runs and threads >= 1"):
        share_threads(0, 2)


@pytest.fixture(scope="module")
def tiny_root(synthetic_root) -> Path:
    return synthetic_root("mars", **TINY_MARS)


def test_finished_only_for_a_whole_run_of_the_same_settings(tiny_root, tmp_path):
    cfg = tiny_config(tiny_root, train={"epochs": 1, "eval_every": 1})
    out = tmp_path / "run"
    assert not finished(out, cfg)  # nothing there
    train(cfg, out_dir=out, progress=False, check_data=False)
    assert finished(out, cfg)
    assert not finished(out, cfg.with_overrides(train={"epochs": 2}))  # more epochs to go
    assert not finished(out, cfg.with_overrides(train={"seed": 1}))  # another run's folder
    (out / LAST).write_bytes((out / LAST).read_bytes()[:1000])  # cut short
    assert not finished(out, cfg)


@pytest.mark.slow
def test_pending_runs_train_side_by_side_then_read_back(tiny_root, tmp_path):
    cfgs = [tiny_config(tiny_root, train={"epochs": 1, "seed": seed}) for seed in (0, 1, 2)]
    assert unfinished([*cfgs, cfgs[0]], runs_root=tmp_path, progress=False) == cfgs  # once each
    assert train_side_by_side(cfgs, runs_root=tmp_path, threads=2, progress=False) == 3
    assert unfinished(cfgs, runs_root=tmp_path, progress=False) == []
    for cfg in cfgs:
        folder = run_dir(cfg, tmp_path)
        history = [json.loads(line) for line in (folder / "history.jsonl").read_text().splitlines()]
        assert [r["threads"] for r in history] == [1]  # each child had one of the two threads
        trainer = train(cfg, runs_root=tmp_path, progress=False, check_data=False)
        assert trainer.history == history  # read back, not trained again
    assert train_side_by_side(cfgs, runs_root=tmp_path, threads=2, progress=False) == 0


def test_few_pending_runs_or_one_thread_train_nothing_aside(tiny_root, tmp_path):
    cfgs = [tiny_config(tiny_root, train={"epochs": 1, "seed": seed}) for seed in range(MIN_RUNS)]
    few = cfgs[: MIN_RUNS - 1]
    assert train_side_by_side(few, runs_root=tmp_path, threads=2, progress=False) == 0
    assert train_side_by_side(cfgs, runs_root=tmp_path, threads=1, progress=False) == 0
    assert unfinished(cfgs, runs_root=tmp_path, progress=False) == cfgs  # left to `train`


@pytest.mark.slow
def test_an_error_in_a_run_reaches_the_caller(tiny_root, tmp_path):
    cfgs = [
        tiny_config(tiny_root, train={"epochs": 1, "seed": 0}),
        tiny_config(tiny_root, train={"epochs": 1, "seed": 1}),
        tiny_config(tmp_path / "no-such-dataset", train={"epochs": 1}),
    ]
    with pytest.raises(FileNotFoundError, match="no-such-dataset"):
        train_side_by_side(cfgs, runs_root=tmp_path, threads=2, progress=False)
