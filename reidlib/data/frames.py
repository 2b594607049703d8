"""Which frames of a tracklet form a clip: two training samplers and the dense test clips.

All functions return frame indices into a tracklet of `num_frames` frames. Training samplers
draw from `generator`, or from torch's global RNG when it is `None`, so a DataLoader's
per-worker seeding makes them repeatable.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def _randint(low: int, high: int, generator: torch.Generator | None) -> int:
    """Uniform integer in `[low, high]`, both inclusive."""
    return int(torch.randint(low, high + 1, (1,), generator=generator).item())


def restricted_random_indices(
    num_frames: int, *, clip_len: int, generator: torch.Generator | None = None
) -> list[int]:
    """One random frame from each of `clip_len` equal chunks, in temporal order.

    The "intelligent sampling" of the reference code (docs/decisions.md §3): with
    `each = max(num_frames // T, 1)`, chunk `i < T-1` spans `[i·each, (i+1)·each - 1]` and the
    last chunk runs to the final frame; bounds are clamped to `num_frames - 1`, so a tracklet
    shorter than `T` repeats frames.
    """
    _check(num_frames, clip_len)
    each = max(num_frames // clip_len, 1)
    last = num_frames - 1
    indices = []
    for i in range(clip_len):
        low = min(i * each, last)
        high = min((i + 1) * each - 1, last) if i < clip_len - 1 else last
        indices.append(_randint(low, high, generator))
    return indices


def random_consecutive_indices(
    num_frames: int, *, clip_len: int, generator: torch.Generator | None = None
) -> list[int]:
    """`clip_len` consecutive frames from a random start (Gao et al.; VPRFT).

    The start is uniform in `[0, max(0, num_frames - T - 1)]`; a tracklet shorter than `T`
    cycles its own frames (`n=3, T=4 -> [0, 1, 2, 0]`).
    """
    _check(num_frames, clip_len)
    start = _randint(0, max(0, num_frames - clip_len - 1), generator)
    window = list(range(start, min(start + clip_len, num_frames)))
    return [window[i % len(window)] for i in range(clip_len)]


def dense_clip_indices(
    num_frames: int, *, clip_len: int, max_clips: int | None = None
) -> list[list[int]]:
    """Every frame, in consecutive non-overlapping clips (the test protocol, docs/decisions.md §4).

    Clips `[c, c+T)` are taken while `num_frames - c > T`; the remaining 1..T frames form the
    last clip, padded by cycling its own frames. `n=10, T=4 -> [0-3], [4-7], [8, 9, 8, 9]`;
    `n=1 -> [0, 0, 0, 0]`.

    Args:
        num_frames: frames in the tracklet.
        clip_len: `T`.
        max_clips: keep only the first `max_clips` clips (the reference code keeps 41);
            `None` keeps all.
    """
    _check(num_frames, clip_len)
    if max_clips is not None and max_clips < 1:
        raise ValueError(f"max_clips must be >= 1 or None, got {max_clips}")
    clips = []
    start = 0
    while num_frames - start > clip_len:
        clips.append(list(range(start, start + clip_len)))
        start += clip_len
    rest = list(range(start, num_frames))
    clips.append([rest[i % len(rest)] for i in range(clip_len)])
    return clips if max_clips is None else clips[:max_clips]


FrameSampler = Callable[..., list[int]]
FRAME_SAMPLERS: dict[str, FrameSampler] = {
    "restricted_random": restricted_random_indices,
    "random_consecutive": random_consecutive_indices,
}


def sample_frame_indices(
    num_frames: int,
    *,
    clip_len: int,
    sampling: str = "restricted_random",
    generator: torch.Generator | None = None,
) -> list[int]:
    """Training clip indices by the named strategy (a key of `FRAME_SAMPLERS`)."""
    if sampling not in FRAME_SAMPLERS:
        raise ValueError(f"Unknown sampling {sampling!r}: must be one of {sorted(FRAME_SAMPLERS)}")
    return FRAME_SAMPLERS[sampling](num_frames, clip_len=clip_len, generator=generator)


def _check(num_frames: int, clip_len: int) -> None:
    if num_frames < 1:
        raise ValueError(f"a tracklet needs at least one frame, got num_frames={num_frames}")
    if clip_len < 1:
        raise ValueError(f"clip_len must be >= 1, got {clip_len}")
