"""The network of Figure 1: backbone layout, Eq. (1), BNNeck, weights files, Table II count."""

from __future__ import annotations

import math
import pathlib
import pickle

import pytest
import torch
import torchvision
from torch import nn

from reidlib.network import (
    TemporalAttention,
    TemporalAveragePooling,
    attention_pool,
    build_backbone,
    build_network,
    feature_map_size,
    load_pretrained,
)
from reidlib.types import ReIDOutput
from tests.conftest import TINY_SIZE


def hand_attention(temporal_kernel: list[float]) -> TemporalAttention:
    """D = 2 channels, 1×2 maps, one hidden unit that sums the map, a chosen temporal kernel."""
    att = TemporalAttention(2, map_size=(1, 2), hidden=1)
    with torch.no_grad():
        att.spatial_conv.weight.fill_(1.0)  # h_t = sum of all map values of frame t
        att.spatial_conv.bias.zero_()
        att.temporal_conv.weight.copy_(torch.tensor(temporal_kernel).view(1, 1, 3))
        att.temporal_conv.bias.zero_()
    return att


# Three frames of a clip, each a (D=2, 1, 2) map:
#   frame 1: channel 0 = [1, 3], channel 1 = [0, 0]     -> h = 4,  GAP f = (2, 0)
#   frame 2: channel 0 = [0, 0], channel 1 = [1, 1]     -> h = 2,  GAP f = (0, 1)
#   frame 3: all -1                                     -> h = -4, GAP f = (-1, -1)
MAPS = torch.tensor(
    [[[[1.0, 3.0]], [[0.0, 0.0]]], [[[0.0, 0.0]], [[1.0, 1.0]]], [[[-1.0, -1.0]], [[-1.0, -1.0]]]]
).unsqueeze(0)  # `(B=1, T=3, D=2, 1, 2)`


def test_temporal_attention_matches_hand_computation():
    att = hand_attention([0.0, 1.0, 0.0])  # s_t = relu(h_t)
    feature, s, a = att(MAPS)
    # s = relu([4, 2, -4]) = [4, 2, 0]; a = softmax(s)
    z = math.exp(4) + math.exp(2) + math.exp(0)
    a_hand = [math.exp(4) / z, math.exp(2) / z, 1 / z]
    # F = Σ_t a_t f_t = a1 (2, 0) + a2 (0, 1) + a3 (-1, -1)
    f_hand = [2 * a_hand[0] - a_hand[2], a_hand[1] - a_hand[2]]
    assert s.tolist() == [[4.0, 2.0, 0.0]]
    torch.testing.assert_close(a, torch.tensor([a_hand]))
    torch.testing.assert_close(feature, torch.tensor([f_hand]))


def test_temporal_conv_sees_the_previous_frame_with_zero_padding():
    # kernel [1, 0, 0] at padding 1: s_t = relu(h_{t-1}), h_0 = 0 (zero padding)
    _, s, _ = hand_attention([1.0, 0.0, 0.0])(MAPS)
    assert s.tolist() == [[0.0, 4.0, 2.0]]


def test_paper_form_of_eq1_divides_by_t():
    f = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])  # `(B=1, T=2, D=2)`
    a = torch.tensor([[0.25, 0.75]])
    reference = attention_pool(f, a)  # 0.25 (1, 2) + 0.75 (3, 4) = (2.5, 3.5)
    assert reference.tolist() == [[2.5, 3.5]]
    assert attention_pool(f, a, form="paper").tolist() == [[1.25, 1.75]]
    with pytest.raises(ValueError, match=r"Eq\. \(1\) form"):
        attention_pool(f, a, form="other")


def test_temporal_average_pooling_weighs_frames_equally():
    feature, s, a = TemporalAveragePooling()(MAPS)
    # mean of GAPs (2, 0), (0, 1), (-1, -1) = (1/3, 0)
    torch.testing.assert_close(feature, torch.tensor([[1 / 3, 0.0]]))
    assert s.tolist() == [[0.0, 0.0, 0.0]]
    torch.testing.assert_close(a, torch.full((1, 3), 1 / 3))


@pytest.mark.parametrize(
    ("size", "expected"),
    [((224, 112), (14, 7)), ((256, 128), (16, 8)), ((64, 32), (4, 2)), ((244, 112), (16, 7))],
)
def test_feature_map_size_rule(size, expected):
    assert feature_map_size(size) == expected


def test_feature_map_size_matches_the_backbone_on_odd_sizes():
    backbone = build_backbone("resnet50").eval()
    for size in [(70, 30), (33, 17)]:
        with torch.no_grad():
            out = backbone(torch.zeros(1, 3, *size))
        assert tuple(out.shape[2:]) == feature_map_size(size)
        assert out.shape[1] == 2048
    assert feature_map_size((70, 30), last_stride=2) == (3, 1)


def test_ibn_a_layout_and_key_names():
    keys = set(build_backbone("resnet50_ibn_a").state_dict())
    for layer, blocks in zip((1, 2, 3), (3, 4, 6)):
        for b in range(blocks):
            assert f"layer{layer}.{b}.bn1.IN.weight" in keys
            assert f"layer{layer}.{b}.bn1.BN.running_mean" in keys
            assert f"layer{layer}.{b}.bn1.weight" not in keys
            assert f"layer{layer}.{b}.bn1.IN.running_mean" not in keys  # IN keeps no statistics
    assert "layer4.0.bn1.weight" in keys and "layer4.0.bn1.IN.weight" not in keys
    assert "bn1.weight" in keys and "fc.weight" not in keys
    ibn = build_backbone("resnet50_ibn_a").layer2[0].bn1
    assert (ibn.IN.num_features, ibn.BN.num_features) == (64, 64)  # half of 128 planes each


def test_last_stride_one_sits_on_layer4_conv2_and_downsample():
    backbone = build_backbone("resnet50", last_stride=1)
    assert backbone.layer4[0].conv2.stride == (1, 1)
    assert backbone.layer4[0].downsample[0].stride == (1, 1)
    assert backbone.layer3[0].conv2.stride == (2, 2)
    assert build_backbone("resnet50", last_stride=2).layer4[0].conv2.stride == (2, 2)


def test_parameter_count_matches_table_ii():
    # docs/decisions.md §1.4: 23,508,032 (backbone) + 51,380,480 (attention, 2048·256·14·7 + 256)
    # + 769 (temporal conv) + 4,096 (BN γ, β) + 1,280,000 (classifier) = 76,173,377 parameters
    counts = {}
    for name in ("resnet50_ibn_a", "resnet50"):
        net = build_network(backbone=name, num_classes=625, input_size=(224, 112))
        counts[name] = sum(p.numel() for p in net.parameters())
        assert sum(p.numel() for p in net.backbone.parameters()) == 23_508_032
        assert sum(p.numel() for p in net.temporal.spatial_conv.parameters()) == 51_380_480
    assert counts == {"resnet50_ibn_a": 76_173_377, "resnet50": 76_173_377}
    assert round(counts["resnet50_ibn_a"] * 4 / 2**20, 2) == 290.58  # Table II "Params (MB)"


def test_bnneck_bias_is_frozen_at_zero_through_training(tiny_net):
    head = tiny_net.head
    assert not head.bnneck.bias.requires_grad
    assert head.classifier.bias is None
    trainable = [p for p in tiny_net.parameters() if p.requires_grad]
    opt = torch.optim.Adam(trainable, lr=1e-2)
    g = torch.Generator().manual_seed(1)
    clips = torch.randn(4, 2, 3, *TINY_SIZE, generator=g)
    for _ in range(2):
        opt.zero_grad()
        tiny_net(clips).logits.logsumexp(dim=1).mean().backward()
        opt.step()
    assert torch.count_nonzero(head.bnneck.bias) == 0


def test_forward_backward_every_trainable_parameter_gets_a_gradient(tiny_net):
    g = torch.Generator().manual_seed(0)
    clips = torch.randn(2, 2, 3, *TINY_SIZE, generator=g)  # B=2, T=2, 64×32
    out = tiny_net(clips)
    assert isinstance(out, ReIDOutput)
    assert out.logits.shape == (2, 5) and out.bn_feature.shape == (2, 2048)
    assert out.attention_scores.shape == (2, 2)
    torch.testing.assert_close(out.attention_weights.sum(dim=1), torch.ones(2))
    loss = (
        nn.functional.cross_entropy(out.logits, torch.tensor([0, 1]))
        + out.bn_feature.pow(2).mean()
        + out.attention_scores.sum()
    )
    loss.backward()
    frozen = []
    for name, p in tiny_net.named_parameters():
        if not p.requires_grad:
            frozen.append(name)
            continue
        assert p.grad is not None and p.grad.abs().sum() > 0, name
        assert torch.isfinite(p.grad).all(), name
    assert frozen == ["head.bnneck.bias"]
    assert all(torch.isfinite(t).all() for t in out)


def test_eval_mode_returns_the_same_named_output_with_bnneck_running_statistics(tiny_net):
    clips = torch.randn(3, 2, 3, *TINY_SIZE, generator=torch.Generator().manual_seed(2))
    tiny_net.eval()
    with torch.no_grad():
        out = tiny_net(clips)
        emb = tiny_net.embed(clips)
    assert isinstance(out, ReIDOutput) and out.bn_feature.shape == (3, 2048)
    torch.testing.assert_close(emb, out.bn_feature)
    bn = tiny_net.head.bnneck  # eval: (f − running mean) / sqrt(running var + eps) · γ + β
    expected = (out.feature - bn.running_mean) / (bn.running_var + bn.eps).sqrt() * bn.weight
    torch.testing.assert_close(out.bn_feature, expected + bn.bias)


def test_wrong_input_size_is_a_clear_error(tiny_net):
    with pytest.raises(ValueError, match="built for 4x2"):
        tiny_net(torch.zeros(1, 2, 3, 128, 64))
    with pytest.raises(ValueError, match=r"\(B, T, C, H, W\)"):
        tiny_net(torch.zeros(2, 3, *TINY_SIZE))


def test_unknown_names_are_rejected():
    with pytest.raises(ValueError, match="Unknown backbone 'resnet18'"):
        build_backbone("resnet18")
    with pytest.raises(ValueError, match="Unknown temporal"):
        build_network(num_classes=3, temporal="lstm", input_size=TINY_SIZE)


# ---------------------------------------------------------------- weights files


def assert_same_tensors(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    loaded = model.state_dict()
    for key, value in state.items():
        if key.startswith("fc."):
            continue
        assert torch.equal(loaded[key], value), key


def loaded(name: str, path: pathlib.Path) -> torch.nn.Module:
    """A fresh backbone with the file at `path` loaded into it."""
    backbone = build_backbone(name)
    load_pretrained(backbone, path)
    return backbone


def test_torchvision_resnet50_state_dict_loads(tmp_path):
    torch.manual_seed(3)
    state = torchvision.models.resnet50().state_dict()  # torchvision's own names, fc included
    path = tmp_path / "resnet50.pth"
    torch.save(state, path)
    backbone = build_backbone("resnet50")
    # every backbone tensor: 53 convs/BNs' weights, biases and running statistics, no fc
    assert load_pretrained(backbone, path) == len(state) - 2
    assert_same_tensors(backbone, state)


def ibn_release_state(seed: int) -> dict[str, torch.Tensor]:
    """A state dict laid out like IBN-Net's v1.0 release file: backbone keys plus `fc.*`."""
    torch.manual_seed(seed)
    state = build_backbone("resnet50_ibn_a").state_dict()
    for value in state.values():
        if value.is_floating_point():
            value.normal_()  # distinguishable from a fresh model's init
    state["fc.weight"] = torch.randn(1000, 2048)
    state["fc.bias"] = torch.randn(1000)
    return state


def test_ibn_net_release_state_dict_loads(tmp_path):
    state = ibn_release_state(4)
    path = tmp_path / "resnet50_ibn_a-d9d0bb7b.pth"
    torch.save(state, path)
    assert_same_tensors(loaded("resnet50_ibn_a", path), state)


def test_old_ibn_net_container_with_module_prefix_loads(tmp_path):
    state = ibn_release_state(5)
    # PyTorch 0.3/0.4 era: {"state_dict": {"module.<key>": ...}}, no num_batches_tracked
    old = {f"module.{k}": v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    path = tmp_path / "resnet50_ibn_a.pth.tar"
    torch.save({"state_dict": old, "epoch": 100}, path)
    assert_same_tensors(loaded("resnet50_ibn_a", path), state)


def test_wrong_keys_error_names_the_file_and_keys(tmp_path):
    path = tmp_path / "torchvision_r50.pth"
    torch.save(torchvision.models.resnet50().state_dict(), path)
    with pytest.raises(KeyError, match=r"torchvision_r50\.pth.*layer1\.0\.bn1\.BN") as info:
        loaded("resnet50_ibn_a", path)
    assert "cannot initialise ResNet50-IBN-a" in str(info.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.pth"):
        loaded("resnet50", tmp_path / "nowhere.pth")


class _Payload:
    """Unpickling this object would create `marker`: a stand-in for hostile code."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def test_weights_file_cannot_run_code(tmp_path):
    marker = tmp_path / "code_ran"
    path = tmp_path / "hostile.pth"
    with path.open("wb") as fh:
        pickle.dump({"conv1.weight": _Payload(marker)}, fh, protocol=2)
    with pytest.raises(ValueError, match=r"hostile\.pth"):
        loaded("resnet50", path)
    assert not marker.exists()


def test_zero_init_residual_makes_every_block_start_as_the_identity():
    backbone = build_backbone("resnet50_ibn_a", zero_init_residual=True).eval()
    block = backbone.layer1[1]  # no downsample: out = relu(x + branch(x)), branch(x) = 0
    assert torch.count_nonzero(block.bn3.weight) == 0
    x = torch.randn(2, 256, 8, 4, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(block(x), torch.relu(x))
    default = build_backbone("resnet50_ibn_a")
    assert torch.all(default.layer1[1].bn3.weight == 1)  # the reference initialisation


def test_the_network_package_holds_only_the_method():
    # the model's files import no loss, trainer or measurement harness (layering: the network
    # is the paper's model, everything that trains or measures it lives above it)
    import ast
    import pathlib as pl

    package = pl.Path(__file__).resolve().parents[1] / "reidlib" / "network"
    imported = set()
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    reidlib_parts = {m.split(".")[1] for m in imported if m.startswith("reidlib.")}
    assert reidlib_parts <= {"network", "choices", "types"}, reidlib_parts
    assert sorted(p.stem for p in package.glob("*.py")) == [
        "__init__", "backbone", "bnneck", "factory", "ibn", "reid_net", "temporal_attention",
    ]  # fmt: skip
