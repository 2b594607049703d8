"""Attention health: is the temporal attention (Eq. 1) alive, and where does it look?

The scores s_t are a ReLU output (docs/decisions.md §1.2). Once every s_t of a clip is 0, the
softmax gives each frame 1/T and no gradient reaches the attention's convolutions through that
clip; when that holds for every clip, the attention is temporal average pooling for the rest of
training (docs/decisions.md §9). `attention_health` measures a network on a batch of clips,
`dead_at_init` the initial weights of several seeds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import Tensor, nn

from reidlib.network.temporal_attention import TemporalAveragePooling
from reidlib.progress import progress_bar


@dataclass(frozen=True, kw_only=True)
class AttentionHealth:
    """The temporal attention of one network on a set of clips (`attention_health`)."""

    clips: int  # clips measured
    dead_fraction: float | None  # clips whose every score s_t is exactly 0; None: no attention
    entropy: float  # mean over clips of H(a) / log T: 1 = weights 1/T, 0 = one frame; 1 for T = 1
    erased_weight: float | None  # mean a_t over frames random erasing hit; None: no such frame
    clean_weight: float | None  # mean a_t over frames it did not hit; None: no such frame

    @property
    def dead(self) -> bool:
        """Every score of every clip is 0: the attention is temporal average pooling."""
        return self.dead_fraction == 1.0

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> AttentionHealth:
        """Reads back what `to_json` wrote (a run's `history.jsonl` record, key "attention")."""
        return cls(**{f.name: record[f.name] for f in fields(cls)})

    def to_json(self) -> dict[str, Any]:
        return {
            "dead_fraction": self.dead_fraction,
            "entropy": self.entropy,
            "erased_weight": self.erased_weight,
            "clean_weight": self.clean_weight,
            "clips": self.clips,
        }

    def describe(self) -> str:
        """One line for a notebook, e.g. `attention alive: 31% of clips dead, entropy 0.82 of
        uniform, a_t erased 0.21 / clean 0.29`."""
        if self.dead_fraction is None:
            return f"no attention (temporal average pooling): weights 1/T on {self.clips} clips"
        if self.dead:
            return (
                f"attention dead: every score 0 on {self.clips} of {self.clips} clips, weights 1/T"
            )
        line = (
            f"attention alive: {100 * self.dead_fraction:.0f}% of clips dead, "
            f"entropy {self.entropy:.2f} of uniform"
        )
        if self.erased_weight is None and self.clean_weight is None:
            return line
        return f"{line}, a_t erased {_fmt(self.erased_weight)} / clean {_fmt(self.clean_weight)}"


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def attention_health(
    net: nn.Module, clips: Tensor, erased: Tensor | None = None, *, chunk: int = 32
) -> AttentionHealth:
    """The attention's scores s_t and weights a_t on `clips`, summed up: forward only, without
    gradients, in eval mode (each module's mode is restored afterwards).

    Args:
        net: a network returning a `ReIDOutput`; one holding `TemporalAveragePooling` has no
            attention (`dead_fraction` None).
        clips: `(B, T, C, H, W)`, moved to the network's device `chunk` clips at a time.
        erased: `(B, T)`, 1 where random erasing hit the frame (`E_t` of Eq. 12); None = unknown
            (`erased_weight` and `clean_weight` None).
        chunk: clips per forward pass.
    """
    if clips.dim() != 5:
        raise ValueError(f"expected clips of shape (B, T, C, H, W), got {tuple(clips.shape)}")
    if erased is not None and tuple(erased.shape) != tuple(clips.shape[:2]):
        raise ValueError(
            f"erased {tuple(erased.shape)} must be (B, T) = {tuple(clips.shape[:2])} of the clips"
        )
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1 clip, got {chunk}")
    param = next(net.parameters(), None)
    device = clips.device if param is None else param.device
    modes = {module: module.training for module in net.modules()}
    net.eval()
    try:
        with torch.no_grad():
            outs = [net(part.to(device)) for part in clips.split(chunk)]
    finally:
        for module, training in modes.items():
            module.training = training
    s = torch.cat([o.attention_scores for o in outs]).float().cpu()  # `(B, T)`
    a = torch.cat([o.attention_weights for o in outs]).float().cpu()  # `(B, T)`
    t = a.shape[1]
    if t == 1:
        entropy = 1.0  # one frame: its weight 1 is the uniform weight
    else:  # H(a) / log T, with 0 log 0 = 0
        entropy = (-torch.special.xlogy(a, a).sum(dim=1) / math.log(t)).mean().item()
    has_attention = not any(isinstance(m, TemporalAveragePooling) for m in net.modules())
    dead = (s == 0).all(dim=1).float().mean().item() if has_attention else None
    flags = None if erased is None else erased.cpu().bool()
    return AttentionHealth(
        clips=a.shape[0],
        dead_fraction=dead,
        entropy=entropy,
        erased_weight=None if flags is None else _mean(a[flags]),
        clean_weight=None if flags is None else _mean(a[~flags]),
    )


def _mean(x: Tensor) -> float | None:
    return x.mean().item() if x.numel() else None


@dataclass(frozen=True, kw_only=True)
class InitSurvey:
    """Whether the attention is dead at initialisation, seed by seed (`dead_at_init`)."""

    setting: str  # how the networks were built, e.g. "224x112 random init"
    seeds: tuple[int, ...]
    dead: tuple[bool, ...]  # per seed: every score of every clip 0
    clip_dead_fraction: tuple[float, ...]  # per seed: fraction of clips whose scores are all 0

    @property
    def dead_fraction(self) -> float:
        """Fraction of seeds whose attention is dead."""
        return sum(self.dead) / len(self.dead)

    def to_json(self) -> dict[str, Any]:
        return {
            "setting": self.setting,
            "seeds": len(self.seeds),
            "seed_list": list(self.seeds),
            "dead_fraction": self.dead_fraction,
            "clip_dead_fraction": list(self.clip_dead_fraction),
        }

    def describe(self) -> str:
        """One line, e.g. `224x112 random init: attention dead for 8 of 20 seeds (0, 3, ...)`."""
        dead = [str(s) for s, d in zip(self.seeds, self.dead) if d]
        which = f" ({', '.join(dead)})" if dead else ""
        return (
            f"{self.setting}: attention dead at initialisation for {len(dead)} of "
            f"{len(self.seeds)} seeds{which}"
        )


def dead_at_init(
    build: Callable[[int], nn.Module],
    clips: Tensor,
    *,
    seeds: Sequence[int],
    setting: str,
    chunk: int = 32,
    progress: bool = False,
) -> InitSurvey:
    """`attention_health` of the network `build(seed)` returns, for each seed, on the same clips.

    Args:
        build: seed -> a network with temporal attention, in any mode.
        clips: `(B, T, C, H, W)`, the same for every seed.
        seeds: the seeds to build from.
        setting: what `build` makes, for the record.
        chunk: clips per forward pass.
        progress: a progress bar over the seeds.
    """
    if not seeds:
        raise ValueError(f"{setting}: no seeds to survey")
    dead, fractions = [], []
    for seed in progress_bar(seeds, desc=setting, disable=not progress):
        health = attention_health(build(seed), clips, chunk=chunk)
        if health.dead_fraction is None:
            raise ValueError(
                f"{setting}: seed {seed} built a network without temporal attention "
                "(temporal average pooling); there is no attention to survey"
            )
        dead.append(health.dead)
        fractions.append(health.dead_fraction)
    return InitSurvey(
        setting=setting,
        seeds=tuple(int(s) for s in seeds),
        dead=tuple(dead),
        clip_dead_fraction=tuple(fractions),
    )
