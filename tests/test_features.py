"""Test-time tracklet embedding: dense clips, clip cap, bounded memory on long tracklets."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import torch
from torch import Tensor, nn

from reidlib.evaluation.features import embed_tracklet


class FrameMeanNet(nn.Module):
    """A stand-in network: embedding = W · (mean pixel of each channel, per clip)."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(3, 4, bias=False)
        with torch.no_grad():
            self.proj.weight.copy_(torch.arange(12.0).view(4, 3))
        self.batch_sizes: list[int] = []

    def embed(self, clips: Tensor) -> Tensor:
        self.batch_sizes.append(clips.shape[0])
        return self.proj(clips.mean(dim=(1, 3, 4)))  # `(B, 4)`


class LazyFrames(Sequence):
    """A tracklet whose frame i is a constant image of value i, made only when read."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.reads: list[int] = []

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Tensor:
        if not 0 <= i < self.n:
            raise IndexError(i)
        self.reads.append(i)
        return torch.full((3, 2, 2), float(i))


def clip_mean_values(n: int, clip_len: int, max_clips: int | None = None) -> list[float]:
    """By hand: the mean frame value of each dense clip (docs/decisions.md §4 rule)."""
    clips, c = [], 0
    while n - c > clip_len:
        clips.append(list(range(c, c + clip_len)))
        c += clip_len
    rest = list(range(c, n))
    clips.append([rest[i % len(rest)] for i in range(clip_len)])
    clips = clips if max_clips is None else clips[:max_clips]
    return [sum(clip) / clip_len for clip in clips]


def expected_embedding(net: FrameMeanNet, values: list[float]) -> Tensor:
    means = torch.tensor(values).unsqueeze(1).expand(-1, 3)  # every channel has the clip's mean
    return net.proj(means).mean(dim=0)


def test_ten_frames_make_three_clips_with_the_tail_padded():
    net = FrameMeanNet().eval()
    frames = torch.arange(10.0).view(10, 1, 1, 1).expand(10, 3, 2, 2)
    emb = embed_tracklet(net, frames, clip_len=4)
    # clips [0-3], [4-7], [8, 9, 8, 9]: means 1.5, 5.5, 8.5
    assert clip_mean_values(10, 4) == [1.5, 5.5, 8.5]
    torch.testing.assert_close(emb, expected_embedding(net, [1.5, 5.5, 8.5]))


def test_single_frame_tracklet_repeats_its_frame():
    net = FrameMeanNet().eval()
    emb = embed_tracklet(net, torch.full((1, 3, 2, 2), 7.0), clip_len=4)
    torch.testing.assert_close(emb, expected_embedding(net, [7.0]))


def test_thousand_frame_tracklet_is_embedded_in_bounded_chunks():
    net = FrameMeanNet().eval()
    frames = LazyFrames(1000)
    emb = embed_tracklet(net, frames, clip_len=4, chunk=16)
    # 250 clips in chunks of at most 16: memory never holds more than 16 clips of frames
    assert sum(net.batch_sizes) == 250 and max(net.batch_sizes) == 16
    assert len(net.batch_sizes) == 16  # ceil(250 / 16)
    assert sorted(frames.reads) == list(range(1000))  # every frame decoded exactly once
    torch.testing.assert_close(emb, expected_embedding(net, clip_mean_values(1000, 4)))


def test_max_clips_keeps_the_first_clips_like_the_reference_cap():
    net = FrameMeanNet().eval()
    frames = LazyFrames(1000)
    emb = embed_tracklet(net, frames, clip_len=4, max_clips=41)
    assert sum(net.batch_sizes) == 41 and max(frames.reads) == 163  # the first 164 frames
    torch.testing.assert_close(emb, expected_embedding(net, clip_mean_values(1000, 4, 41)))


def test_chunking_does_not_change_the_result(tiny_net):
    tiny_net.eval()
    frames = torch.randn(23, 3, 64, 32, generator=torch.Generator().manual_seed(0))
    one = embed_tracklet(tiny_net, frames, clip_len=4, chunk=1)
    many = embed_tracklet(tiny_net, frames, clip_len=4, chunk=6)
    torch.testing.assert_close(one, many, rtol=1e-4, atol=1e-5)
    assert one.shape == (2048,)


def test_training_mode_and_empty_tracklets_are_refused():
    net = FrameMeanNet()
    with pytest.raises(RuntimeError, match=r"net\.eval\(\)"):
        embed_tracklet(net, torch.zeros(4, 3, 2, 2))
    with pytest.raises(ValueError, match="no frames"):
        embed_tracklet(net.eval(), torch.zeros(0, 3, 2, 2))
