"""Test-time tracklet embedding (`extract_features`, the path behind every reported number):
dense clips, the tail padded, the clip cap, packing clips of several tracklets into one pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import Tensor, nn

from reidlib.data import build_test_transform
from reidlib.evaluation.features import extract_features
from reidlib.types import Tracklet


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


def frame_value(image: Image.Image) -> Tensor:
    """The test transform of these tests: frame i, stored as pixels (i // 256, i % 256, 0),
    becomes a `(3, 2, 2)` tensor filled with i."""
    r, g, _ = np.asarray(image)[0, 0]
    return torch.full((3, 2, 2), float(int(r) * 256 + int(g)))


def write_tracklet(folder: Path, n: int, *, pid: int = 1, camid: int = 0) -> Tracklet:
    """`n` frames whose pixels encode their index (`frame_value`)."""
    folder.mkdir(parents=True)
    frames = []
    for i in range(n):
        path = folder / f"{i:04d}.png"
        Image.new("RGB", (2, 2), (i // 256, i % 256, 0)).save(path)
        frames.append(path)
    return Tracklet(tuple(frames), pid, camid)


def expected_embedding(net: FrameMeanNet, values: list[float]) -> Tensor:
    means = torch.tensor(values).unsqueeze(1).expand(-1, 3)  # every channel has the clip's mean
    return net.proj(means).mean(dim=0)


def embed(net: nn.Module, tracklets: list[Tracklet], **kwargs) -> Tensor:
    kwargs.setdefault("clip_len", 4)
    return extract_features(net, tracklets, transform=frame_value, progress=False, **kwargs)


def test_ten_frames_make_three_clips_with_the_tail_padded(tmp_path):
    net = FrameMeanNet().eval()
    emb = embed(net, [write_tracklet(tmp_path / "t", 10)])
    # clips [0-3], [4-7], [8, 9, 8, 9]: means 1.5, 5.5, 8.5
    torch.testing.assert_close(emb, expected_embedding(net, [1.5, 5.5, 8.5]).unsqueeze(0))


def test_single_frame_tracklet_repeats_its_frame(tmp_path):
    net = FrameMeanNet().eval()
    emb = embed(net, [write_tracklet(tmp_path / "t", 1)])
    torch.testing.assert_close(emb[0], expected_embedding(net, [0.0]))


def test_clips_of_several_tracklets_share_passes_and_stay_apart(tmp_path):
    net = FrameMeanNet().eval()
    # each tracklet's dense clips (docs/decisions.md §4) and their mean frame indices
    clip_means = {
        10: [1.5, 5.5, 8.5],  # [0-3], [4-7], [8, 9, 8, 9]
        1: [0.0],  # [0, 0, 0, 0]
        23: [1.5, 5.5, 9.5, 13.5, 17.5, 20.75],  # ..., [16-19], [20, 21, 22, 20]
        4: [1.5],  # [0-3]
        5: [1.5, 4.0],  # [0-3], [4, 4, 4, 4]
    }  # 3 + 1 + 6 + 1 + 2 = 13 clips
    tracklets = [write_tracklet(tmp_path / f"t{i}", n) for i, n in enumerate(clip_means)]
    emb = embed(net, tracklets, chunk=5)
    assert net.batch_sizes == [5, 5, 3]  # packed across tracklets, never more than `chunk`
    for row, means in zip(emb, clip_means.values()):
        torch.testing.assert_close(row, expected_embedding(net, means))


def test_max_clips_keeps_the_first_clips_like_the_reference_cap(tmp_path):
    net = FrameMeanNet().eval()
    emb = embed(net, [write_tracklet(tmp_path / "t", 300)], max_clips=41)
    assert sum(net.batch_sizes) == 41  # the first 164 frames of 300
    # clip k holds frames 4k..4k+3: mean 4k + 1.5
    first_41 = [4 * k + 1.5 for k in range(41)]
    torch.testing.assert_close(emb[0], expected_embedding(net, first_41))
    emb = embed(net, [write_tracklet(tmp_path / "u", 300)], max_clips=None)
    torch.testing.assert_close(emb[0], expected_embedding(net, [4 * k + 1.5 for k in range(75)]))


def test_equals_a_loop_over_single_tracklets_on_the_real_network(tiny_net, tmp_path):
    tiny_net.eval()
    rng = np.random.default_rng(0)
    tracklets = []
    for t, n in enumerate((7, 2, 13)):
        folder = tmp_path / f"t{t}"
        folder.mkdir()
        paths = []
        for i in range(n):
            paths.append(folder / f"{i}.png")
            Image.fromarray(rng.integers(0, 256, (64, 32, 3), dtype=np.uint8)).save(paths[-1])
        tracklets.append(Tracklet(tuple(paths), t, 0))
    kwargs = {"transform": build_test_transform(size=(64, 32)), "progress": False, "chunk": 3}
    together = extract_features(tiny_net, tracklets, **kwargs)
    alone = torch.cat([extract_features(tiny_net, [t], **kwargs) for t in tracklets])
    assert together.shape == (3, 2048)
    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-5)  # other pass sizes


def test_training_mode_and_an_empty_list_are_refused(tmp_path):
    net = FrameMeanNet()
    with pytest.raises(RuntimeError, match=r"net\.eval\(\)"):
        embed(net, [write_tracklet(tmp_path / "t", 4)])
    with pytest.raises(ValueError, match="no tracklets"):
        embed(net.eval(), [])
