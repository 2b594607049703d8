"""The first gallery items of each query's rank list (Figure 2), after the protocol's removal."""

from __future__ import annotations

import numpy as np
from torch import Tensor


def top_valid_items(
    dist: np.ndarray | Tensor,
    removed: np.ndarray | Tensor,
    *,
    k: int,
    bound: np.ndarray | None = None,
) -> np.ndarray:
    """Each query's `k` nearest gallery items once the protocol's removed items are dropped.

    The order is that of a stable sort on (distance, gallery index), found without sorting the
    gallery: only the remaining items at or below a per-row bound are sorted. By default the
    bound is the k-th smallest remaining distance, found by partial selection; a caller that
    has the rows sorted already passes a cheaper one.

    Args:
        dist: distances of a chunk of queries to the gallery, `(c, num_g)`, no NaN, on the CPU.
        removed: gallery items dropped for each query (same pid and same camid),
            `(c, num_g)` bool.
        k: list length.
        bound: `(c,)` distances with at least `k` remaining items (or all of them) at or
            below each.

    Returns:
        Gallery indices in ranked order, `(c, k)` int64; −1 past the end of a short list.
    """
    dist, removed = np.asarray(dist), np.asarray(removed)
    c, num_g = dist.shape
    indices = np.full((c, k), -1, dtype=np.int64)
    if min(k, num_g) == 0:
        return indices
    if bound is None:
        kth = min(k, num_g) - 1  # removed items at inf come after every remaining one
        bound = np.partition(np.where(removed, np.inf, dist), kth, axis=1)[:, kth]
    flat = np.flatnonzero(dist <= bound[:, None])
    flat = flat[~removed.ravel()[flat]]
    rows = flat // num_g  # by row, then gallery index
    count = np.bincount(rows, minlength=c)
    start = np.repeat(np.cumsum(count) - count, count)  # where each item's row begins
    at_bound = dist.ravel()[flat] == bound[rows]
    seen = np.cumsum(at_bound)
    flat = flat[~at_bound | (seen - seen[start] + at_bound[start] <= k)]  # ties: lowest indices
    rows, cols = np.divmod(flat, num_g)
    order = np.lexsort((cols, dist.ravel()[flat], rows))  # by row, distance, gallery index
    rows, cols = rows[order], cols[order]
    slot = np.arange(len(rows)) - np.searchsorted(rows, rows)  # place in the row's list
    keep = slot < k
    indices[rows[keep], slot[keep]] = cols[keep]
    return indices
