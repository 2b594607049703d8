"""What the benchmark scripts share (`reidlib.benchmarking`): machine facts, result files, loader
timing, MARS-like evaluator input, peak memory."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from reidlib.benchmarking import (
    extra_peak_bytes,
    machine_facts,
    mars_like_features,
    resolve_benchmark_device,
    result_header,
    time_loader,
    write_result,
)
from reidlib.evaluation import evaluate, pairwise_distance
from reidlib.results import device_name


def test_machine_facts_name_the_cpu_and_the_versions():
    facts = machine_facts("cpu")
    assert facts["device"] == "cpu"
    assert facts["device_name"] == facts["cpu"] == device_name("cpu")
    assert facts["torch"] == torch.__version__ and facts["numpy"] == np.__version__
    assert facts["cpu_cores_usable"] >= 1 and len(facts["load_average_at_start"]) == 3
    assert "gpu_memory_bytes" not in facts  # CUDA facts only on CUDA


def test_result_header_says_what_and_where():
    header = result_header("what was measured", device=torch.device("cpu"))
    assert header["benchmark"] == "what was measured"
    assert header["device"] == device_name("cpu")
    assert header["machine"]["device"] == "cpu" and header["command"]


def test_write_result_replaces_the_file_whole(tmp_path):
    out = tmp_path / "results" / "x.json"
    write_result({"a": 1}, out)
    assert write_result({"a": 2, "path": Path("p")}, out) == out
    assert json.loads(out.read_text()) == {"a": 2, "path": "p"}  # a path as text
    assert [p.name for p in out.parent.iterdir()] == ["x.json"]  # no side file left


def test_time_loader_walks_epochs_and_times_after_the_warmup():
    asked = []

    def epoch_loader(epoch: int):
        asked.append(epoch)
        return [(torch.zeros(6, 4, 3, 2, 2), torch.zeros(6)) for _ in range(3)]

    run = time_loader(epoch_loader, batches=5, warmup=2)
    assert asked == [0, 1, 2]  # 7 batches from epochs of 3
    assert run["frames"] == 5 * 6 * 4 and run["batches"] == 5 and run["warmup_batches"] == 2
    assert run["batch_shape"] == [6, 4, 3, 2, 2] and run["frames_per_s"] > 0


def test_mars_like_features_have_mars_structure_and_their_signal():
    small = {"num_q": 120, "num_g": 600, "dim": 64, "num_ids": 60, "num_distractors": 80}
    problem = mars_like_features(**small, noise=0.1)
    q_pids, g_pids, q_camids, g_camids = problem.ids()
    assert problem.q.shape == (120, 64) and problem.g.shape == (600, 64)
    assert (g_pids == 0).sum() == 80 and set(q_pids) <= set(range(1, 61))
    assert q_camids.max() < 6 and g_camids.max() < 6
    again = mars_like_features(**small, noise=0.1)
    assert torch.equal(again.g, problem.g)  # seeded
    rank1 = {}
    for noise in (0.1, 20.0):
        p = mars_like_features(**small, noise=noise)
        cmc, _ = evaluate(pairwise_distance(p.q, p.g), *p.ids())
        rank1[noise] = cmc[0]
    assert rank1[0.1] == 1.0 and rank1[20.0] < 0.5, rank1


def test_extra_peak_bytes_sees_a_large_allocation():
    extra = extra_peak_bytes(
        lambda: np.ones(16 * 2**20, dtype=np.float32), device=torch.device("cpu")
    )
    assert 48 * 2**20 < extra < 256 * 2**20  # 64 MiB written


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_refused():
    with pytest.raises(SystemExit, match="--device cuda: CUDA is not available"):
        resolve_benchmark_device("cuda")
