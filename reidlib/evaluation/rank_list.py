"""The first gallery items of each query's rank list (Figure 2), after the protocol's removal."""

from __future__ import annotations

import torch
from torch import Tensor


def top_valid_items(dist: Tensor, removed: Tensor, *, k: int) -> Tensor:
    """Each query's `k` nearest gallery items once the protocol's removed items are dropped.

    The order is that of a stable sort on (distance, gallery index), found without sorting the
    whole gallery: the k-th smallest remaining distance v is found with `topk`, every remaining
    item closer than v is kept, then the items at exactly v in gallery-index order until `k`
    are kept, and only those `k` are sorted.

    Args:
        dist: distances of a chunk of queries to the gallery, `(c, num_g)`, no NaN.
        removed: gallery items dropped for each query (same pid and same camid),
            `(c, num_g)` bool.
        k: list length.

    Returns:
        Gallery indices in ranked order, `(c, k)`; −1 past the end of a short list.
    """
    c, num_g = dist.shape
    kk = min(k, num_g)
    indices = torch.full((c, k), -1, dtype=torch.long, device=dist.device)
    if kk == 0:
        return indices
    masked = dist.masked_fill(removed, float("inf"))
    kth = torch.topk(masked, kk, dim=1, largest=False).values[:, -1:]  # `(c, 1)`
    closer = masked < kth  # fewer than kk items, all of them in the list
    at_kth = (masked == kth) & ~removed  # ties at the boundary: the lowest gallery indices first
    room = kk - closer.sum(dim=1, keepdim=True)
    keep = closer | (at_kth & (at_kth.cumsum(dim=1) <= room))
    rows, cols = keep.nonzero(as_tuple=True)  # row-major: gallery index ascending per row
    per_row = keep.sum(dim=1)
    slot = torch.arange(rows.numel(), device=dist.device) - (per_row.cumsum(0) - per_row)[rows]
    top_d = dist.new_full((c, kk), float("inf"))
    top_i = torch.full((c, kk), -1, dtype=torch.long, device=dist.device)
    top_d[rows, slot] = dist[rows, cols]
    top_i[rows, slot] = cols
    top_d, order = torch.sort(top_d, dim=1, stable=True)  # ties stay in gallery-index order
    indices[:, :kk] = top_i.gather(1, order)
    return indices
