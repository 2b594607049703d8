"""CMC and mAP under the Market-1501/MARS protocol (REFERENCE.md §4), vectorised in torch.

For each query the gallery is ranked by a stable sort on (distance, gallery index); gallery
items with the query's pid AND camid are removed; a query left with no true match is skipped;
CMC counts the rank of the first true match and AP is uninterpolated over the whole list.

No query's gallery is ever fully sorted. Everything AP needs is the rank, among the valid
(not removed) items, of each true match. With the query's r true matches sorted by
(distance, index), a binary search places every other valid item between them
(`torch.searchsorted`); a histogram of those places, summed cumulatively, gives how many
non-matches precede the k-th true match. Ties in distance are resolved by gallery index through
a second search on a combined (distance group, index) key, only for the queries that have such
ties. Same-pid pairs come from the gallery sorted by pid, so no query×gallery mask is built.
Queries are processed in chunks of about 4M query×gallery entries, and the transient tensors
take about 13 bytes per entry of a chunk (≈ 55 MB), whatever the number of queries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from reidlib.evaluation.rank_list import top_valid_items

_CHUNK_ELEMENTS = 1 << 22  # query×gallery entries per chunk

ArrayLike = Tensor | np.ndarray


@dataclass(frozen=True)
class EvalResult:
    """Everything `evaluate_detailed` finds, as numpy arrays on the CPU.

    Attributes:
        cmc: CMC curve over the valid queries, `(max_rank,)`; `cmc[r]` = share whose first true
            match has 0-based rank <= r.
        mAP: mean AP over the valid queries.
        num_valid_queries: queries with at least one true match after the removal.
        valid: which queries count, `(num_q,)` bool.
        first_match_rank: 0-based rank of the first true match among the remaining items,
            `(num_q,)` int64; −1 for skipped queries.
        average_precision: AP of each query, `(num_q,)` float64; NaN for skipped queries.
        top_indices: the first `top_k` remaining gallery indices in ranked order,
            `(num_q, top_k)` int64; −1 past the end of a short list.
        top_matches: whether each of them is a true match, `(num_q, top_k)` bool.
    """

    cmc: np.ndarray
    mAP: float
    num_valid_queries: int
    valid: np.ndarray
    first_match_rank: np.ndarray
    average_precision: np.ndarray
    top_indices: np.ndarray
    top_matches: np.ndarray


def _to_tensor(x: ArrayLike, device: torch.device | None = None) -> Tensor:
    t = x if isinstance(x, Tensor) else torch.as_tensor(np.asarray(x))
    return t if device is None else t.to(device)


def _check_inputs(
    distmat: ArrayLike,
    q_pids: ArrayLike,
    g_pids: ArrayLike,
    q_camids: ArrayLike,
    g_camids: ArrayLike,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    dist = _to_tensor(distmat)
    if dist.ndim != 2:
        raise ValueError(f"distmat must be (num_q, num_g), got shape {tuple(dist.shape)}")
    if not dist.is_floating_point():
        dist = dist.to(torch.float64)
    num_q, num_g = dist.shape
    ids = []
    for name, x, n in (
        ("q_pids", q_pids, num_q),
        ("g_pids", g_pids, num_g),
        ("q_camids", q_camids, num_q),
        ("g_camids", g_camids, num_g),
    ):
        t = _to_tensor(x, dist.device).to(torch.long)
        if t.shape != (n,):
            raise ValueError(
                f"{name} must have shape ({n},) to match distmat, got {tuple(t.shape)}"
            )
        ids.append(t)
    return dist, *ids


def _same_pid_pairs(
    q_pids: Tensor, q_camids: Tensor, g_order: Tensor, g_sorted: Tensor, g_camids: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Every (query, gallery item) pair with the same pid, without a query×gallery mask.

    Args:
        q_pids: `(c,)`.
        q_camids: `(c,)`.
        g_order: stable argsort of the gallery pids, `(num_g,)`.
        g_sorted: the gallery pids in that order, `(num_g,)`.
        g_camids: `(num_g,)`.

    Returns:
        `(rows, cols, removed)`: query row, gallery index, and whether the pair also shares the
        camid (removed by the protocol); by row, then gallery index, ascending.
    """
    device = q_pids.device
    lo = torch.searchsorted(g_sorted, q_pids)
    count = torch.searchsorted(g_sorted, q_pids, right=True) - lo
    rows = torch.repeat_interleave(torch.arange(len(q_pids), device=device), count)
    within = torch.arange(rows.numel(), device=device) - (count.cumsum(0) - count)[rows]
    cols = g_order[lo[rows] + within]
    return rows, cols, g_camids[cols] == q_camids[rows]


def _rank_true_matches(
    dist: Tensor, rows: Tensor, cols: Tensor, removed: Tensor
) -> tuple[Tensor, Tensor]:
    """First-match rank and AP of a chunk of queries, ties broken by gallery index.

    Args:
        dist: `(c, num_g)` distances, no NaN.
        rows: query row of every same-pid pair (from `_same_pid_pairs`).
        cols: gallery index of every same-pid pair.
        removed: whether the pair also shares the camid.

    Returns:
        `(first, ap)`, each `(c,)`: 0-based rank of the first true match among the valid items
        (−1 when there is none) and the AP (NaN when there is none).
    """
    c, num_g = dist.shape
    device = dist.device
    rel_rows, rel_cols = rows[~removed], cols[~removed]  # true matches that survive the removal
    n_rel = torch.bincount(rel_rows, minlength=c)
    r = int(n_rel.max()) if rel_rows.numel() else 0
    if r == 0:
        return (
            torch.full((c,), -1, dtype=torch.long, device=device),
            torch.full((c,), float("nan"), dtype=torch.float64, device=device),
        )

    # Each query's true matches sorted by (distance, index), padded with (inf, num_g) and one
    # more (inf, num_g) column as a sentinel. They arrive by index, and a stable sort on
    # distance keeps that order within ties.
    slot = torch.arange(rel_rows.numel(), device=device) - (n_rel.cumsum(0) - n_rel)[rel_rows]
    rel_d = dist.new_full((c, r + 1), float("inf"))
    rel_i = torch.full((c, r + 1), num_g, dtype=torch.long, device=device)
    rel_d[rel_rows, slot] = dist[rel_rows, rel_cols]
    rel_i[rel_rows, slot] = rel_cols
    rel_d, order = torch.sort(rel_d, dim=1, stable=True)
    rel_i = rel_i.gather(1, order)

    # place[j] = number of true matches ranked before gallery item j (<= r thanks to the sentinel)
    place = torch.searchsorted(rel_d, dist)  # true matches strictly closer than item j
    tied = rel_d.gather(1, place) == dist  # item j ties a true match (or the padding) in distance
    tied[rows, cols] = False  # only other-pid items need the exact place
    tie_rows, tie_cols = tied.nonzero(as_tuple=True)
    if tie_rows.numel():
        # Among equal distances the lower gallery index ranks first. Key each true match by
        # (distance group, index), strictly increasing along the row, and search each tied
        # item's (group, index) key in its row; in batches, to bound the `(n, r + 1)` keys.
        group = torch.zeros_like(rel_i)
        group[:, 1:] = (rel_d[:, 1:] != rel_d[:, :-1]).cumsum(dim=1)
        key = group * (num_g + 1) + rel_i
        batch = max(1, _CHUNK_ELEMENTS // (r + 1))
        for lo in range(0, tie_rows.numel(), batch):
            t_rows, t_cols = tie_rows[lo : lo + batch], tie_cols[lo : lo + batch]
            probe = group[t_rows, place[t_rows, t_cols]] * (num_g + 1) + t_cols
            exact = torch.searchsorted(key[t_rows], probe.unsqueeze(1)).squeeze(1)
            place[t_rows, t_cols] = exact

    # ahead[:, k] = valid non-matches ranked before the k-th true match (0-based k): a histogram
    # of every item's place, minus the same-pid items (true matches and removed ones)
    hist = torch.zeros((c, r + 1), dtype=torch.long, device=device)
    hist.scatter_add_(1, place, torch.ones((), dtype=torch.long, device=device).expand_as(place))
    minus_one = torch.full_like(rows, -1)
    hist.index_put_((rows, place[rows, cols]), minus_one, accumulate=True)
    ahead = hist.cumsum(dim=1)[:, :r]
    k = torch.arange(r, device=device)
    rank = ahead + k  # 0-based rank of the k-th true match among the valid items
    found = k < n_rel.unsqueeze(1)
    precision = (k + 1).to(torch.float64) / (rank + 1).to(torch.float64)  # P@rank at a hit
    ap = (precision * found).sum(dim=1) / n_rel.to(torch.float64)  # (1/num_rel) Σ P@k·rel_k
    has_match = n_rel > 0
    first = torch.where(has_match, rank[:, 0], -1)
    ap = torch.where(has_match, ap, float("nan"))
    return first, ap


def evaluate_detailed(
    distmat: ArrayLike,
    q_pids: ArrayLike,
    g_pids: ArrayLike,
    q_camids: ArrayLike,
    g_camids: ArrayLike,
    max_rank: int = 50,
    *,
    top_k: int = 10,
    chunk_size: int | None = None,
) -> EvalResult:
    """CMC, mAP and per-query results under the Market/MARS protocol (REFERENCE.md §4).

    For each query: rank the gallery by (distance, gallery index); remove the items with the
    same pid and the same camid (pid-0 distractors stay); skip the query if no true match is
    left; its CMC is 1 from the rank of the first true match on; its AP is
    (1/num_rel) Σ_k P@k·rel_k over the whole list.

    Args:
        distmat: query-gallery distances, `(num_q, num_g)`, numpy or torch, CPU or CUDA; smaller
            is closer; NaN is rejected.
        q_pids: `(num_q,)`.
        g_pids: `(num_g,)`.
        q_camids: `(num_q,)`.
        g_camids: `(num_g,)`.
        max_rank: length of the CMC curve, clipped to the gallery size.
        top_k: length of the per-query rank lists kept (Figure 2); 0 keeps none.
        chunk_size: queries per chunk; None picks about 4M query×gallery entries per chunk.

    Returns:
        An `EvalResult`.

    Raises:
        ValueError: on mismatched shapes, NaN distances, or when no query has a true match.
    """
    dist, q_pids, g_pids, q_camids, g_camids = _check_inputs(
        distmat, q_pids, g_pids, q_camids, g_camids
    )
    num_q, num_g = dist.shape
    if max_rank < 1:
        raise ValueError(f"max_rank must be >= 1, got {max_rank}")
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1 or None, got {chunk_size}")
    max_rank = min(max_rank, num_g)
    rows_per_chunk = chunk_size or max(1, _CHUNK_ELEMENTS // max(num_g, 1))
    g_order = torch.argsort(g_pids, stable=True)
    g_sorted = g_pids[g_order]
    firsts, aps, tops, top_hits = [], [], [], []
    for start in range(0, num_q, rows_per_chunk):
        stop = min(start + rows_per_chunk, num_q)
        chunk = dist[start:stop].contiguous()
        if torch.isnan(chunk).any():
            raise ValueError(f"distmat has NaN distances (in query rows {start}..{stop - 1})")
        qp, qc = q_pids[start:stop], q_camids[start:stop]
        rows, cols, removed = _same_pid_pairs(qp, qc, g_order, g_sorted, g_camids)
        first, ap = _rank_true_matches(chunk, rows, cols, removed)
        firsts.append(first)
        aps.append(ap)
        if top_k > 0:
            removed_mask = torch.zeros(chunk.shape, dtype=torch.bool, device=dist.device)
            removed_mask[rows[removed], cols[removed]] = True
            indices = top_valid_items(chunk, removed_mask, k=top_k)
            hits = (g_pids[indices.clamp(min=0)] == qp.unsqueeze(1)) & (indices >= 0)
            tops.append(indices)
            top_hits.append(hits)

    first = torch.cat(firsts).cpu().numpy() if firsts else np.zeros(0, dtype=np.int64)
    ap = torch.cat(aps).cpu().numpy() if aps else np.zeros(0)
    valid = first >= 0
    num_valid = int(valid.sum())
    if num_valid == 0:
        raise ValueError(
            "no query has a true match in the gallery once same-pid same-camid items are "
            "removed: check q_pids/g_pids and q_camids/g_camids"
        )
    cmc = (first[valid, None] <= np.arange(max_rank)).mean(axis=0)
    if top_k > 0:
        top_indices = torch.cat(tops).cpu().numpy()
        top_matches = torch.cat(top_hits).cpu().numpy()
    else:
        top_indices = np.zeros((num_q, 0), dtype=np.int64)
        top_matches = np.zeros((num_q, 0), dtype=bool)
    return EvalResult(
        cmc=cmc,
        mAP=float(ap[valid].mean()),
        num_valid_queries=num_valid,
        valid=valid,
        first_match_rank=first,
        average_precision=ap,
        top_indices=top_indices,
        top_matches=top_matches,
    )


def evaluate(
    distmat: ArrayLike,
    q_pids: ArrayLike,
    g_pids: ArrayLike,
    q_camids: ArrayLike,
    g_camids: ArrayLike,
    max_rank: int = 50,
    *,
    chunk_size: int | None = None,
) -> tuple[np.ndarray, float]:
    """CMC and mAP under the Market/MARS protocol; see `evaluate_detailed`.

    Args:
        distmat: query-gallery distances, `(num_q, num_g)` (squared Euclidean in the paper).
        q_pids: `(num_q,)`.
        g_pids: `(num_g,)`.
        q_camids: `(num_q,)`.
        g_camids: `(num_g,)`.
        max_rank: length of the CMC curve, clipped to the gallery size.
        chunk_size: queries per chunk; None picks it from the gallery size.

    Returns:
        `(cmc, mAP)`: the CMC curve, `(max_rank,)` float64 (rank-1 is `cmc[0]`), and the mAP.
    """
    result = evaluate_detailed(
        distmat, q_pids, g_pids, q_camids, g_camids, max_rank, top_k=0, chunk_size=chunk_size
    )
    return result.cmc, result.mAP
