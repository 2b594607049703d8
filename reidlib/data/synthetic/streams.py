"""The generator's random streams, by name.

Every random draw comes from one numpy generator seeded with the key `[seed, stream, *index]`:
the dataset's seed, the stream's number and, for streams with one generator per item, the item.
A stream's draws never depend on another's, so adding a camera leaves every person as it was.
The numbers are part of the output: changing one changes every byte the stream writes.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Stream(IntEnum):
    """A random stream and its number in the seed key."""

    LAYOUT = 0  # `[seed, 0]`: who is seen by which camera, how long; the split files
    PEOPLE = 1  # `[seed, 1, person key]`: one identity's appearance
    CAMERAS = 2  # `[seed, 2]`: the side the first camera sees; `[seed, 2, camid]`: one camera
    TRACKLETS = 3  # `[seed, 3, tracklet index]`: one tracklet's walk, box, occluder, noise
    CAMERA_VIEWS = 4  # `[seed, 4, person key, camid]`: a walk of `render_through_cameras`


def random_stream(seed: int, stream: Stream, *index: int) -> np.random.Generator:
    """The generator of `stream` (for `index`, where it has one per item) under `seed`: seeded
    with the `numpy.random.SeedSequence` entropy `[seed, stream, *index]`."""
    return np.random.default_rng([seed, int(stream), *index])
