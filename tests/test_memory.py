"""Memory of a training step: the per-frame shortcut of torchsummary's rule, the saved
activations, and the measured step (docs/decisions.md §1.4, Table II)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from reidlib.memory.footprint import FLOAT32, MIB, count_parameters, summary_footprint
from reidlib.memory.measure import (
    build_memory_network,
    measure_training_steps,
    per_frame_footprint,
    random_batch,
    saved_activation_bytes,
)
from reidlib.network import build_network

SIZE = (64, 32)


@pytest.fixture(scope="module")
def net_2d():
    torch.manual_seed(0)
    return build_network(backbone="resnet50", num_classes=4, input_size=SIZE)


def test_per_frame_footprint_equals_the_rule_on_the_whole_item(net_2d):
    full = summary_footprint(net_2d, (5, 3, *SIZE))
    probed = per_frame_footprint(net_2d, frames=5, frame_size=SIZE, probe_frames=2)
    # the one term that depends on T: the temporal conv's output, T values per item, counted
    # twice (forward and backward) -> 3 more frames add 3 · 2 · 4 bytes
    extra = 3 * 2 * FLOAT32 / MIB
    assert full.forward_backward_mb == pytest.approx(probed.forward_backward_mb + extra, abs=1e-9)
    assert full.params_mb == probed.params_mb
    assert full.input_mb == pytest.approx(probed.input_mb)
    assert probed.input_mb == pytest.approx(5 * 3 * 64 * 32 * 4 / 2**20)


class LinearRelu(nn.Module):
    """`(B, 4) -> (B, 3)`: Linear saves its input for the weight's gradient, ReLU its output."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3, bias=False)

    def forward(self, x):
        return torch.relu(self.fc(x))


def test_saved_activations_by_hand():
    x = torch.randn(2, 4)
    # input 2×4 and ReLU output 2×3 float32 values; the weight is a parameter and left out
    assert saved_activation_bytes(LinearRelu(), x) == (2 * 4 + 2 * 3) * FLOAT32


def test_saved_activations_grow_with_the_batch_and_match_between_2d_and_3d(net_2d):
    gen = torch.Generator().manual_seed(0)
    one, _, _ = random_batch(num_ids=2, num_instances=1, clip_len=2, input_size=SIZE, generator=gen)
    two = torch.cat([one, one])  # BNNeck needs B >= 2 in train mode
    b1, b2 = saved_activation_bytes(net_2d, one), saved_activation_bytes(net_2d, two)
    # per-clip activations double; the BN layers' saved batch statistics (per channel) do not
    assert b1 < b2 < 2 * b1
    assert b2 == pytest.approx(2 * b1, rel=0.02)
    # the 3D baseline keeps T and the same spatial sizes in every layer: as much as the 2D net
    b3d = saved_activation_bytes(build_memory_network("3d", num_classes=4, input_size=SIZE), one)
    assert b3d == pytest.approx(b1, rel=0.1)
    assert net_2d.training  # the mode is restored


def test_unknown_network_is_rejected():
    with pytest.raises(ValueError, match="'ours', '3d'"):
        build_memory_network("m3d", num_classes=4, input_size=SIZE)
    with pytest.raises(ValueError, match="'ours', '3d'"):
        measure_training_steps(("m3d",))


def test_in_process_measurement_reports_the_batch():
    m = measure_training_steps(
        ("ours",),
        num_ids=2,
        num_instances=1,
        clip_len=2,
        input_size=(32, 16),
        num_classes=4,
        fresh_process=False,
    )["ours"]
    assert (m.network, m.device, m.num_clips, m.clip_len) == ("ours", "cpu", 2, 2)
    net = build_memory_network("ours", num_classes=4, input_size=(32, 16))
    assert m.params_mb == pytest.approx(count_parameters(net) * FLOAT32 / MIB)
    assert m.held_mb is None  # only CUDA reports what is held before the step


@pytest.mark.slow
def test_measured_steps_hold_at_least_the_gradients():
    measured = measure_training_steps(
        ("ours", "3d"), num_ids=2, num_instances=1, clip_len=2, input_size=(32, 16), num_classes=4
    )
    for name, m in measured.items():
        net = build_memory_network(name, num_classes=4, input_size=(32, 16))
        assert m.params_mb == pytest.approx(count_parameters(net) * FLOAT32 / MIB)
        assert (m.network, m.device, m.num_clips, m.clip_len, m.height, m.width) == (
            name,
            "cpu",
            2,
            2,
            32,
            16,
        )
        assert m.held_mb is None  # only CUDA reports what is held before the step
        # at the end of backward every gradient is alive: as many bytes as the trainable
        # parameters (the activations of 4 frames of 32×16 are small beside them)
        trainable = sum(p.numel() for p in net.parameters() if p.requires_grad) * FLOAT32 / MIB
        assert m.peak_mb > 0.9 * trainable, (name, m.peak_mb, trainable)
