"""Table II's memory columns: torchsummary's rule reproduces the paper's figures for our network."""

from __future__ import annotations

import subprocess
import sys

import pytest

from reidlib.memory import per_frame_footprint
from reidlib.memory.baseline3d import Video3DNet
from reidlib.memory.footprint import count_parameters, summary_footprint
from reidlib.network import build_network
from reidlib.paper import TABLE_II


@pytest.fixture(scope="module")
def paper_net():
    return build_network(backbone="resnet50_ibn_a", num_classes=625, input_size=(224, 112))


def test_summary_rule_reproduces_table_ii_for_our_network(paper_net):
    # 2 frames per input item keeps the test fast; the per-frame activation count, and so the
    # forward/backward column, does not depend on how many frames an item has.
    fp = summary_footprint(paper_net, (2, 3, 224, 112))
    assert fp.forward_backward_mb == pytest.approx(171.92, abs=0.02)  # Table II "Ours"
    assert fp.params_mb == pytest.approx(290.58, abs=0.005)
    assert fp.input_mb == pytest.approx(2 * 3 * 224 * 112 * 4 / 2**20)
    # the per-frame rule reported for Table II's input of 32 frames gives its whole row
    row = per_frame_footprint(paper_net, frames=32, frame_size=(224, 112))
    ours = next(r for r in TABLE_II if r["method"] == "Ours (paper)")
    for ours_mb, paper_mb in zip(
        row, (ours[k] for k in ("input_mb", "fwd_bwd_mb", "params_mb", "total_mb"))
    ):
        assert ours_mb == pytest.approx(paper_mb, abs=0.02)


def test_summary_rule_counts_a_3d_network_per_clip():
    net = Video3DNet(num_classes=4)
    one = summary_footprint(net, (2, 3, 32, 16))
    two = summary_footprint(net, (4, 3, 32, 16))
    # a 3D network's batch is clips, so its activations grow with T (here exactly x2, since
    # every 3D layer keeps the temporal length); the 2D network's count does not grow
    assert two.forward_backward_mb > 1.9 * one.forward_backward_mb


def test_parameters_of_the_3d_baseline_are_the_inflated_resnet():
    # 2D trunk 23,508,032 parameters; inflating each 3×3 kernel to 3×3×3 adds 2 × (its weights)
    # and the 7×7 stem to 3×7×7 adds 2 × 9,408
    net = Video3DNet(num_classes=625)
    conv2 = sum(b.conv2.weight.numel() for b in net.layers) // 3  # the 2D 3×3 weights
    trunk = count_parameters(net.stem) + count_parameters(net.layers)
    assert trunk == 23_508_032 + 2 * conv2 + 2 * 9_408


PEAK_SCRIPT = """
import sys, torch
torch.set_num_threads(1)  # one thread: one malloc arena, a repeatable high-water mark
from reidlib.network import build_network
from reidlib.memory.footprint import measure_peak_memory
net = build_network(backbone="resnet50", num_classes=4, input_size=(64, 32))
def step(batch):
    net(torch.randn(batch, 4, 3, 64, 32)).logits.sum().backward()
step(2)  # first call: one-off allocator and thread-pool set-up, not part of the measurement
print(measure_peak_memory(lambda: step(int(sys.argv[1])), device=torch.device("cpu")))
"""


def peak_in_fresh_process(batch: int) -> int:
    # a process of its own per measurement: no memory of earlier tests in the baseline
    cmd = [sys.executable, "-c", PEAK_SCRIPT, str(batch)]
    return int(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


@pytest.mark.slow  # two fresh processes, each importing torch and building a ResNet50
def test_measured_peak_grows_with_the_batch():
    small, large = peak_in_fresh_process(4), peak_in_fresh_process(16)
    # 12 more clips of 4 frames at 64×32: summary_footprint counts about 6.75 MiB of
    # activations per frame, so roughly 12 × 4 × 6.75 ≈ 320 MiB more at the peak
    assert large - small > 100 * 2**20, (small, large)
