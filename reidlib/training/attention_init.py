"""Is the temporal attention dead before training? Three starting points, seed by seed.

Whether every attention score is 0 at initialisation is fixed by the initial weights, so by the
run's seed (docs/decisions.md §9). `attention_at_init_surveys` builds each starting point as a run
builds it (`initial_network`) for every seed and asks `dead_at_init`, on a few real training
clips of a dataset read with the test transform at the setting's size:

- "224x112 random init": the paper's network at 224×112 from random weights;
- "224x112 ImageNet init": the same with the ResNet50-IBN-a ImageNet file loaded (skipped, with
  the reason, when `weights_dir` lacks it);
- "quick start": the network a quick-profile run starts from, its stand-in backbone loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from reidlib.config import RunConfig, resolve_weights
from reidlib.config.profiles import FULL
from reidlib.config.weights import IMAGENET_FILES
from reidlib.data import TrackletDataset, VideoReIDDataset, build_test_transform
from reidlib.evaluation.attention import InitSurvey, dead_at_init
from reidlib.network import VideoReIDNet
from reidlib.training.build import initial_network
from reidlib.types import Tracklet

MARS_IDS = 625  # N of the 224×112 networks; the classifier is built after the attention


@dataclass(frozen=True, kw_only=True)
class AttentionAtInit:
    """The surveys `attention_at_init_surveys` ran, and one line for each setting it skipped."""

    surveys: tuple[InitSurvey, ...]
    skipped: tuple[str, ...]  # "<setting>: not surveyed, <reason>"

    def to_json(self) -> dict[str, Any]:
        return {"surveys": [s.to_json() for s in self.surveys], "skipped": list(self.skipped)}

    def describe(self) -> str:
        """One line per setting, surveyed or skipped."""
        return "\n".join([s.describe() for s in self.surveys] + list(self.skipped))


def survey_tracklets(dataset: VideoReIDDataset, *, num_clips: int) -> list[Tracklet]:
    """`num_clips` training tracklets spread evenly over `dataset.train` (the first included)."""
    train = dataset.train
    if not 1 <= num_clips <= len(train):
        raise ValueError(
            f"num_clips={num_clips}: expected 1 to {len(train)}, the training tracklets of "
            f"{dataset.root}"
        )
    return [train[i * len(train) // num_clips] for i in range(num_clips)]


def survey_clips(tracklets: Sequence[Tracklet], *, size: tuple[int, int], clip_len: int) -> Tensor:
    """The first test clip of each tracklet (its first `clip_len` frames, the test transform at
    `size`): `(len(tracklets), T, C, H, W)`."""
    items = TrackletDataset(
        tracklets, transform=build_test_transform(size=size), clip_len=clip_len, max_clips=1
    )
    return torch.stack([items[i][0][0] for i in range(len(items))])


def attention_at_init_surveys(
    dataset: VideoReIDDataset,
    quick: RunConfig,
    *,
    weights_dir: Path | str = "data/weights",
    seeds: Sequence[int] = range(20),
    num_clips: int = 4,
    clip_len: int = 4,
    progress: bool = False,
) -> AttentionAtInit:
    """`dead_at_init` of the three starting points, over `seeds`, on the same tracklets.

    Args:
        dataset: whose training tracklets give the clips (`survey_tracklets`); the quick
            network's N is its `num_train_pids`, as in `build_run`.
        quick: the quick-profile run, its backbone file already in `model.weights` (as
            `with_pretrained` returns it), so that the survey trains nothing; its seed is
            replaced by each of `seeds`.
        weights_dir: where the ResNet50-IBN-a ImageNet file is looked for.
        seeds: the seeds of every setting.
        num_clips: clips, one per tracklet.
        clip_len: T.
        progress: a progress bar per setting.
    """
    if quick.model.init != "random" and quick.model.weights is None:
        raise ValueError(
            f"quick start ({quick.name}): model.weights is unset; pass the configuration "
            "with_pretrained returns (its stand-in backbone file), the survey trains nothing"
        )
    tracklets = survey_tracklets(dataset, num_clips=num_clips)
    full = FULL.with_overrides(data={"height": 224, "width": 112})
    random_init = full.with_overrides(model={"init": "random"})
    settings: list[tuple[str, RunConfig, int]] = [("224x112 random init", random_init, MARS_IDS)]
    skipped = []
    try:
        imagenet = resolve_weights(full.with_overrides(model={"weights_dir": str(weights_dir)}))
        settings.append(("224x112 ImageNet init", imagenet, MARS_IDS))
    except FileNotFoundError:
        official = IMAGENET_FILES[full.model.backbone]
        skipped.append(
            f"224x112 ImageNet init: not surveyed, {official.name} is not in {weights_dir} "
            f"(from {official.source})"
        )
    settings.append(("quick start", quick, dataset.num_train_pids))
    surveys, clips = [], {}
    for setting, cfg, num_classes in settings:
        size = (cfg.data.height, cfg.data.width)
        if size not in clips:
            clips[size] = survey_clips(tracklets, size=size, clip_len=clip_len)
        build = partial(_starting_network, cfg=cfg, num_classes=num_classes)
        surveys.append(
            dead_at_init(build, clips[size], seeds=seeds, setting=setting, progress=progress)
        )
    return AttentionAtInit(surveys=tuple(surveys), skipped=tuple(skipped))


def _starting_network(seed: int, *, cfg: RunConfig, num_classes: int) -> VideoReIDNet:
    """The network a run of `cfg` with `seed` starts from (`initial_network`)."""
    return initial_network(cfg.with_overrides(train={"seed": seed}), num_classes=num_classes)[0]
