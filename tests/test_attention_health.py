"""Attention health (docs/decisions.md §9): dead fraction, entropy and erased/clean weights by
hand on a network whose scores and weights are chosen, eval mode restored, `dead_at_init` on
networks whose seed decides, the trainer's record of the last epoch, the survey's clips."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from reidlib.config import load_profile
from reidlib.evaluation import InitSurvey, attention_health, dead_at_init
from reidlib.network.backbone import build_backbone
from reidlib.network.bnneck import BNNeckHead
from reidlib.network.reid_net import VideoReIDNet
from reidlib.network.temporal_attention import TemporalAttention, TemporalAveragePooling
from reidlib.training import load_dataset
from reidlib.training.attention_init import (
    attention_at_init_surveys,
    survey_clips,
    survey_tracklets,
)
from reidlib.types import ReIDOutput
from tests.data_builders import TINY_MARS
from tests.test_training import tiny_config, tiny_trainer

KEYS = ["dead_fraction", "entropy", "erased_weight", "clean_weight", "clips"]


class Chosen(nn.Module):
    """Returns the chosen scores and weights of each clip, whose index is the clip's first pixel
    value; records the mode of every forward pass."""

    def __init__(self, scores: list[list[float]], weights: list[list[float]]) -> None:
        super().__init__()
        self.scores, self.weights = torch.tensor(scores), torch.tensor(weights)
        self.head = nn.Linear(1, 1)  # a parameter (the device) and a submodule (its mode)
        self.modes: list[bool] = []

    def forward(self, clips: Tensor) -> ReIDOutput:
        self.modes.append(self.training)
        rows = clips[:, 0, 0, 0, 0].long()
        feature = clips.new_zeros((len(rows), 1))
        return ReIDOutput(feature, feature, feature, self.scores[rows], self.weights[rows])


def indexed_clips(n: int, t: int) -> Tensor:
    """`(n, t, 1, 1, 1)` clips whose pixels hold the clip's index."""
    return torch.arange(n, dtype=torch.float32).reshape(n, 1, 1, 1, 1).expand(n, t, 1, 1, 1)


SCORES = [[0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0], [0, 2, 0, 0]]
WEIGHTS = [[0.25] * 4, [0.25] * 4, [1, 0, 0, 0], [0.5, 0.5, 0, 0]]
ERASED = torch.tensor([[1, 0, 0, 0], [0, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 1]])


def test_health_by_hand_across_chunks():
    net = Chosen(SCORES, WEIGHTS)
    health = attention_health(net, indexed_clips(4, 4), ERASED, chunk=3)
    assert net.modes == [False, False]  # two chunks, in eval mode
    assert health.clips == 4
    assert health.dead_fraction == 0.5  # clips 0 and 1 score 0 everywhere
    # entropy / log 4 per clip: uniform 1, uniform 1, one-hot 0, two frames log 2 / log 4 = 0.5
    assert health.entropy == pytest.approx(2.5 / 4)
    # erased frames' weights 0.25, 1, 0, 0; the other 12 frames hold the rest of 4 clips × 1
    assert health.erased_weight == pytest.approx(1.25 / 4)
    assert health.clean_weight == pytest.approx(2.75 / 12)
    assert not health.dead
    assert health.describe() == (
        "attention alive: 50% of clips dead, entropy 0.62 of uniform, a_t erased 0.31 / clean 0.23"
    )
    assert list(health.to_json()) == KEYS
    assert json.loads(json.dumps(health.to_json()))["clean_weight"] == pytest.approx(11 / 48)


@pytest.mark.parametrize(
    ("weights", "entropy"),
    [
        ([[0.25] * 4], 1.0),  # uniform
        ([[0, 0, 1, 0]], 0.0),  # one frame
        ([[1.0]], 1.0),  # T = 1: the one weight is the uniform one
        ([[0.9, 0.1]], -(0.9 * math.log(0.9) + 0.1 * math.log(0.1)) / math.log(2)),
    ],
)
def test_entropy_is_relative_to_uniform(weights, entropy):
    t = len(weights[0])
    health = attention_health(Chosen([[1.0] * t], weights), indexed_clips(1, t))
    assert health.entropy == pytest.approx(entropy)
    assert health.dead_fraction == 0.0


def test_dead_attention_and_missing_frames():
    net = Chosen([[0.0] * 4] * 2, [[0.25] * 4] * 2)
    health = attention_health(net, indexed_clips(2, 4), torch.zeros(2, 4))
    assert health.dead and health.dead_fraction == 1.0 and health.entropy == pytest.approx(1.0)
    assert health.erased_weight is None and health.clean_weight == 0.25  # nothing was erased
    assert health.describe() == "attention dead: every score 0 on 2 of 2 clips, weights 1/T"
    unknown = attention_health(net, indexed_clips(2, 4))
    assert unknown.erased_weight is None and unknown.clean_weight is None


def tiny_net(temporal: nn.Module) -> VideoReIDNet:
    encoder = nn.Sequential(nn.Conv2d(3, 4, 3, stride=4, padding=1), nn.ReLU())  # 8×4 -> 2×1
    return VideoReIDNet(encoder, temporal, BNNeckHead(4, 3))


def test_average_pooling_has_no_attention():
    health = attention_health(tiny_net(TemporalAveragePooling()), torch.rand(3, 2, 3, 8, 4))
    assert health.dead_fraction is None and not health.dead
    assert health.entropy == pytest.approx(1.0)
    assert health.describe() == "no attention (temporal average pooling): weights 1/T on 3 clips"


def test_every_module_gets_its_mode_back():
    net = Chosen(SCORES, WEIGHTS)
    net.train()
    net.head.eval()  # a frozen part stays frozen
    attention_health(net, indexed_clips(4, 4))
    assert net.modes == [False] and net.training and not net.head.training
    net.eval()
    attention_health(net, indexed_clips(4, 4))
    assert not net.training


def test_bad_shapes_are_refused():
    net = Chosen(SCORES, WEIGHTS)
    with pytest.raises(ValueError, match=r"\(B, T, C, H, W\)"):
        attention_health(net, torch.zeros(4, 4, 1, 1))
    with pytest.raises(ValueError, match=r"erased \(4, 3\)"):
        attention_health(net, indexed_clips(4, 4), torch.zeros(4, 3))


def killed(seed: int) -> VideoReIDNet:
    """A tiny network whose attention scores are all 0 for seeds divisible by 3 (the temporal
    conv's weight 0, its bias -1) and all 1 otherwise (bias +1)."""
    attention = TemporalAttention(4, map_size=(2, 1), hidden=2)
    nn.init.zeros_(attention.temporal_conv.weight)
    nn.init.constant_(attention.temporal_conv.bias, -1.0 if seed % 3 == 0 else 1.0)
    return tiny_net(attention).train()


def test_dead_at_init_follows_the_seed():
    survey = dead_at_init(killed, torch.rand(3, 2, 3, 8, 4), seeds=range(6), setting="tiny")
    assert survey == InitSurvey(
        setting="tiny",
        seeds=(0, 1, 2, 3, 4, 5),
        dead=(True, False, False, True, False, False),
        clip_dead_fraction=(1.0, 0.0, 0.0, 1.0, 0.0, 0.0),
    )
    assert survey.dead_fraction == pytest.approx(1 / 3)
    assert survey.to_json() == {
        "setting": "tiny",
        "seeds": 6,
        "seed_list": [0, 1, 2, 3, 4, 5],
        "dead_fraction": pytest.approx(1 / 3),
        "clip_dead_fraction": [1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
    }
    assert survey.describe() == "tiny: attention dead at initialisation for 2 of 6 seeds (0, 3)"


def test_dead_at_init_needs_attention_and_seeds():
    clips = torch.rand(1, 2, 3, 8, 4)
    with pytest.raises(ValueError, match="avg: seed 0 built a network without temporal attention"):
        dead_at_init(lambda s: tiny_net(TemporalAveragePooling()), clips, seeds=[0], setting="avg")
    with pytest.raises(ValueError, match="tiny: no seeds"):
        dead_at_init(killed, clips, seeds=[], setting="tiny")


@pytest.fixture(scope="module")
def tiny_root(synthetic_root) -> Path:
    return synthetic_root("mars", **TINY_MARS)


def test_the_trainer_records_the_attention_of_its_last_epoch(tiny_root, tmp_path):
    cfg = tiny_config(tiny_root, train={"epochs": 2, "eval_every": 2})
    trainer = tiny_trainer(cfg, load_dataset(cfg.data, progress=False), out_dir=tmp_path)
    attention = trainer.net.temporal
    nn.init.zeros_(attention.temporal_conv.weight)  # every score 0: dead, and it stays dead
    nn.init.constant_(attention.temporal_conv.bias, -1.0)
    history = trainer.fit()
    assert "attention" not in history[0]
    recorded = history[-1]["attention"]
    batch = cfg.data.num_ids_per_batch * cfg.data.num_instances
    assert len(trainer.batches) >= 2 and recorded["clips"] == 2 * batch  # two batches
    assert recorded["dead_fraction"] == 1.0 and recorded["entropy"] == pytest.approx(1.0)
    t = cfg.data.clip_len  # dead: every frame weighs 1/T, erased or not
    assert recorded["clean_weight"] == pytest.approx(1 / t)
    assert recorded["erased_weight"] in (None, pytest.approx(1 / t))
    assert list(recorded) == KEYS
    logged = [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()]
    assert logged[-1]["attention"] == recorded and "attention" not in logged[0]
    assert trainer.net.training  # training mode is back


def test_survey_clips_come_from_spread_training_tracklets(tiny_root):
    dataset = load_dataset(tiny_config(tiny_root).data, progress=False)
    chosen = survey_tracklets(dataset, num_clips=2)
    n = len(dataset.train)
    assert chosen == [dataset.train[0], dataset.train[n // 2]]
    clips = survey_clips(chosen, size=(64, 32), clip_len=3)
    assert clips.shape == (2, 3, 3, 64, 32)
    with pytest.raises(ValueError, match=f"num_clips={n + 1}: expected 1 to {n}"):
        survey_tracklets(dataset, num_clips=n + 1)


def test_the_survey_trains_no_stand_in(tiny_root):
    dataset = load_dataset(tiny_config(tiny_root).data, progress=False)
    with pytest.raises(ValueError, match=r"quick start \(quick-mars\): model.weights is unset"):
        attention_at_init_surveys(dataset, load_profile("quick"))


@pytest.mark.slow
def test_the_three_surveys(tiny_root, tmp_path):
    cfg = tiny_config(tiny_root)  # random weights: a start that needs no stand-in
    dataset = load_dataset(cfg.data, progress=False)
    found = attention_at_init_surveys(dataset, cfg, weights_dir=tmp_path, seeds=(0,), num_clips=1)
    assert [s.setting for s in found.surveys] == ["224x112 random init", "quick start"]
    assert found.skipped == (
        f"224x112 ImageNet init: not surveyed, resnet50_ibn_a-d9d0bb7b.pth is not in {tmp_path} "
        "(from IBN-Net's v1.0 release, https://github.com/XingangPan/IBN-Net/releases/download/"
        "v1.0/resnet50_ibn_a-d9d0bb7b.pth)",
    )
    # an "ImageNet" file of zeros: zero feature maps, so every score is the zero bias, 0
    zeros = {
        k: torch.zeros_like(v) for k, v in build_backbone("resnet50_ibn_a").state_dict().items()
    }
    torch.save(zeros, tmp_path / "resnet50_ibn_a.pth.tar")  # the older name, without a hash
    found = attention_at_init_surveys(dataset, cfg, weights_dir=tmp_path, seeds=(0, 1), num_clips=2)
    assert found.skipped == ()
    imagenet = found.surveys[1]
    assert imagenet.setting == "224x112 ImageNet init" and imagenet.dead == (True, True)
    assert imagenet.clip_dead_fraction == (1.0, 1.0)
    assert all(s.seeds == (0, 1) and len(s.clip_dead_fraction) == 2 for s in found.surveys)


def test_health_reads_back_what_it_wrote():
    from reidlib.evaluation.attention import AttentionHealth

    health = AttentionHealth(
        clips=8, dead_fraction=0.25, entropy=0.9, erased_weight=None, clean_weight=0.25
    )
    assert AttentionHealth.from_json(health.to_json()) == health
