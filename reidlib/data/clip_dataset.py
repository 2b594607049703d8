"""Torch datasets over tracklets: random training clips and dense test clips."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, overload

import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from reidlib.data.frame_cache import CachedFrames
from reidlib.data.frames import FRAME_SAMPLERS, dense_clip_indices, sample_frame_indices
from reidlib.data.io import read_frame
from reidlib.data.transforms import TrainTransform, build_test_transform, build_train_transform
from reidlib.types import Tracklet

FrameTransform = Callable[[Image.Image], Any]


class ClipDraw(NamedTuple):
    """Which training clip to make: the tracklet, and the seed its frame choice, flips, crops
    and erasing draw from (`reidlib.training.batches.SeededBatches` gives each clip of an epoch its
    own)."""

    index: int
    seed: int


def load_clip(
    tracklet: Tracklet,
    indices: Sequence[int],
    *,
    transform: TrainTransform,
    generator: torch.Generator | None = None,
    frames: CachedFrames | None = None,
) -> tuple[Tensor, Tensor]:
    """The frames `indices` of `tracklet` through a training transform: the clip `(T, C, H, W)`
    and its erased flags `(T,)` (1 where random erasing hit the frame, the `E_t` of Eq. 12).

    Args:
        tracklet: the tracklet.
        indices: its frames to take, in order (e.g. `restricted_random_indices`).
        transform: the per-frame training transform (`build_train_transform`).
        generator: what the transform's random choices draw from (None: torch's default).
        frames: the training frames decoded and resized at the transform's size
            (`cache_frames`), read instead of decoding; the same clip either way.
    """
    images, flags = [], []
    for i in indices:
        path = tracklet.frames[i]
        if frames is None:
            image, erased = transform(read_frame(path), generator=generator)
        else:
            image, erased = transform.augment(frames.resized(path), generator=generator)
        images.append(image)
        flags.append(float(erased))
    return torch.stack(images), torch.tensor(flags)


class VideoDataset(Dataset):
    """Training clips: one random clip of `clip_len` frames per tracklet and access.

    An item is `(clip, pid, camid, erased)`: `clip` is `(T, C, H, W)` float32 and `erased` is
    `(T,)` float32, 1 where random erasing hit the frame (the `E_t` of Eq. 12). Indexed by a
    `ClipDraw` (as training indexes it), the clip is a function of the draw alone; indexed by a
    plain position, its random choices come from torch's default generator, as torch's own
    transforms' do (a new clip each time).

    Args:
        tracklets: the training tracklets.
        clip_len: `T`.
        sampling: a key of `reidlib.data.frames.FRAME_SAMPLERS`.
        transform: the per-frame training transform; `None` = `build_train_transform()`.
        frames: every frame of `tracklets` decoded and resized at the transform's size
            (`cache_frames`), read instead of decoding; None = decoded at every access.
    """

    def __init__(
        self,
        tracklets: Sequence[Tracklet],
        *,
        clip_len: int = 4,
        sampling: str = "restricted_random",
        transform: TrainTransform | None = None,
        frames: CachedFrames | None = None,
    ) -> None:
        if sampling not in FRAME_SAMPLERS:
            raise ValueError(
                f"Unknown sampling {sampling!r}: must be one of {sorted(FRAME_SAMPLERS)}"
            )
        self.tracklets = list(tracklets)
        self.clip_len = clip_len
        self.sampling = sampling
        self.transform = build_train_transform() if transform is None else transform
        if frames is not None and tuple(self.transform.size) != frames.size:
            raise ValueError(
                f"frames cached at {frames.size} in {frames.path}, but the training transform "
                f"resizes to {tuple(self.transform.size)}; expected the same size"
            )
        self.frames = frames

    @property
    def pids(self) -> list[int]:
        """The pid of every item, for `RandomIdentitySampler`."""
        return [t.pid for t in self.tracklets]

    def __len__(self) -> int:
        return len(self.tracklets)

    def __getitem__(self, key: int | ClipDraw) -> tuple[Tensor, int, int, Tensor]:
        if isinstance(key, ClipDraw):
            index, generator = key.index, torch.Generator().manual_seed(key.seed)
        else:
            index, generator = key, None
        tracklet = self.tracklets[index]
        indices = sample_frame_indices(
            len(tracklet.frames),
            clip_len=self.clip_len,
            sampling=self.sampling,
            generator=generator,
        )
        clip, erased = load_clip(
            tracklet, indices, transform=self.transform, generator=generator, frames=self.frames
        )
        return clip, tracklet.pid, tracklet.camid, erased


def _test_transform(
    transform: FrameTransform | None, frames: CachedFrames | None
) -> FrameTransform:
    """`transform`, or the test transform when None; with `frames`, the test transform at
    their size, which `transform` must be if given."""
    if frames is None:
        return build_test_transform() if transform is None else transform
    frames.check_transform(transform)
    return build_test_transform(size=frames.size)


class TrackletFrames(Sequence[Tensor]):
    """The transformed frames of one tracklet, decoded on demand.

    `frames[i]` reads and transforms frame `i` (`(C, H, W)`), so an embedder can walk a long
    tracklet's dense clips with bounded memory.

    Args:
        tracklet: the tracklet.
        transform: per-frame test transform; `None` = `build_test_transform()`, or with
            `frames` the test transform at their size.
        frames: decoded test frames (`cache_frames`) holding this tracklet's; None = decode
            every frame read.
    """

    def __init__(
        self,
        tracklet: Tracklet,
        *,
        transform: FrameTransform | None = None,
        frames: CachedFrames | None = None,
    ) -> None:
        self.tracklet, self.frames = tracklet, frames
        self.transform = _test_transform(transform, frames)

    def __len__(self) -> int:
        return len(self.tracklet.frames)

    @overload
    def __getitem__(self, index: int) -> Tensor: ...

    @overload
    def __getitem__(self, index: slice) -> list[Tensor]: ...

    def __getitem__(self, index: int | slice) -> Tensor | list[Tensor]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not -len(self) <= index < len(self):
            raise IndexError(f"frame {index} out of range for {len(self)} frames")
        path = self.tracklet.frames[index]
        if self.frames is not None:
            return self.frames.tensor(path)
        return self.transform(read_frame(path))


class TrackletDataset(Dataset):
    """Test items: all dense clips of a tracklet, stacked.

    An item is `(clips, pid, camid)` with `clips` `(n_clips, T, C, H, W)`; each frame is decoded
    once even when padding repeats it. Items differ in `n_clips`, so load with
    `DataLoader(dataset, batch_size=None, num_workers=...)`.

    Args:
        tracklets: query or gallery tracklets.
        transform: per-frame test transform; `None` = `build_test_transform()`, or with
            `frames` the test transform at their size.
        clip_len: `T`.
        max_clips: keep the first `max_clips` clips (41 in the reference code); `None` = all.
        frames: decoded test frames (`cache_frames`) holding every frame of `tracklets`,
            read instead of decoding; None = decode every frame read.
    """

    def __init__(
        self,
        tracklets: Sequence[Tracklet],
        *,
        transform: FrameTransform | None = None,
        clip_len: int = 4,
        max_clips: int | None = None,
        frames: CachedFrames | None = None,
    ) -> None:
        self.tracklets = list(tracklets)
        self.transform = _test_transform(transform, frames)
        self.clip_len = clip_len
        self.max_clips = max_clips
        self.frames = frames

    def __len__(self) -> int:
        return len(self.tracklets)

    def __getitem__(self, index: int) -> tuple[Tensor, int, int]:
        tracklet = self.tracklets[index]
        clips = dense_clip_indices(
            len(tracklet.frames), clip_len=self.clip_len, max_clips=self.max_clips
        )
        needed = sorted({i for clip in clips for i in clip})
        frames = TrackletFrames(tracklet, transform=self.transform, frames=self.frames)
        decoded = torch.stack([frames[i] for i in needed])  # `(F, C, H, W)`
        position = {frame: row for row, frame in enumerate(needed)}
        order = torch.tensor([[position[i] for i in clip] for clip in clips])
        return decoded[order], tracklet.pid, tracklet.camid
