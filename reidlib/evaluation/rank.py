"""CMC and mAP under the Market-1501/MARS protocol, from one sort of each query's distances.

For each query the gallery is ranked by (distance, gallery index); gallery items with the query's
pid AND camid are removed; a query left with no true match is skipped; CMC counts the rank of the
first true match and AP is uninterpolated over the whole list.

Scoring a query needs only where its same-pid gallery items land, so no index is ever sorted.
Each row of distances is sorted by value alone: NumPy's SIMD `np.sort` does a MARS-sized float32
matrix (1,980 × 9,330) in 0.05 s on a 2-core CPU, where `np.argsort` takes 0.19 s and
`torch.sort` 0.7–1.2 s. A same-pid item's place in its query's full list is then the number of
smaller distances in the sorted row, found by one binary search run for all items at once, plus,
only where its distance is tied, the number of equal distances at lower gallery indices. Same-pid
items come from the gallery sorted by pid, so no query×gallery mask is built for them.
Subtracting the removed items placed before a true match gives its rank r among the valid items;
with a query's true matches in that order, the k-th (0-based) adds (k + 1)/(r + 1) to the AP sum,
and the first one's r is the first-match rank. Rank lists come from the rows' sorted values too:
with m items removed from a row, its (k + m)-th smallest distance bounds the first k remaining
items, and only the items within that bound are sorted by index. Queries go in chunks of about
4M distances; a chunk's sorted copy takes 4 bytes a distance in float32 (8 in float64), plus 1
for the removal mask when rank lists are kept. Torch inputs, CUDA ones included, are copied to
NumPy and ranked on the CPU, so the same code, and the same tie rule, serve every device.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from reidlib.evaluation.rank_list import top_valid_items

_CHUNK_ELEMENTS = 1 << 22  # query×gallery distances per chunk

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


def _to_numpy(x: ArrayLike) -> np.ndarray:
    """`x` as a numpy array on the CPU; half-precision tensors become float64 (exactly)."""
    if isinstance(x, Tensor):
        x = x.detach().cpu()
        return (x.double() if x.dtype in (torch.float16, torch.bfloat16) else x).numpy()
    return np.asarray(x)


def _check_inputs(
    distmat: ArrayLike,
    q_pids: ArrayLike,
    g_pids: ArrayLike,
    q_camids: ArrayLike,
    g_camids: ArrayLike,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The inputs as numpy: C-contiguous float32/float64 distances and int64 ids."""
    dist = _to_numpy(distmat)
    if dist.ndim != 2:
        raise ValueError(f"distmat must be (num_q, num_g), got shape {dist.shape}")
    if dist.dtype not in (np.float32, np.float64):
        dist = dist.astype(np.float64)
    num_q, num_g = dist.shape
    ids = []
    for name, x, n in (
        ("q_pids", q_pids, num_q),
        ("g_pids", g_pids, num_g),
        ("q_camids", q_camids, num_q),
        ("g_camids", g_camids, num_g),
    ):
        a = _to_numpy(x).astype(np.int64)
        if a.shape != (n,):
            raise ValueError(f"{name} must have shape ({n},) to match distmat, got {a.shape}")
        ids.append(a)
    return np.ascontiguousarray(dist), *ids


def _same_pid_pairs(
    q_pids: np.ndarray, g_pids: np.ndarray, q_camids: np.ndarray, g_camids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (query, gallery item) pair with the same pid, found in the pid-sorted gallery.

    Returns:
        `(rows, cols, removed)`: query index (ascending), gallery index, and whether the pair
        also shares the camid (removed by the protocol).
    """
    g_order = np.argsort(g_pids, kind="stable")
    g_sorted = g_pids[g_order]
    lo = np.searchsorted(g_sorted, q_pids)
    count = np.searchsorted(g_sorted, q_pids, side="right") - lo
    rows = np.repeat(np.arange(len(q_pids)), count)
    cols = g_order[np.arange(len(rows)) + np.repeat(lo - (np.cumsum(count) - count), count)]
    return rows, cols, g_camids[cols] == q_camids[rows]


def _places(
    dist: np.ndarray, sorted_dist: np.ndarray, rows: np.ndarray, cols: np.ndarray
) -> np.ndarray:
    """0-based place of item `cols[t]` in the full ranked list of query `rows[t]`.

    Args:
        dist: `(c, num_g)` distances, C-contiguous.
        sorted_dist: `dist` sorted along each row.
        rows: `(n,)` rows of `dist`.
        cols: `(n,)` gallery indices.

    Returns:
        `(n,)` int64: the smaller distances in the row, plus the equal ones at lower indices.
    """
    num_g = dist.shape[1]
    flat, row_start = sorted_dist.ravel(), rows * num_g
    value = dist[rows, cols]
    place = np.zeros(len(rows), dtype=np.int64)
    step = 1 << num_g.bit_length()
    while step:  # binary search for all items at once; invariant: the first `place` are smaller
        nxt = place + step
        place += step * ((nxt <= num_g) & (flat[row_start + np.minimum(nxt, num_g) - 1] < value))
        step >>= 1
    after = np.minimum(place + 1, num_g - 1)
    tied = (place + 1 < num_g) & (flat[row_start + after] == value)
    for t in np.flatnonzero(tied):  # 7 of 27k at MARS scale: equal distances go by index
        place[t] += np.count_nonzero(dist[rows[t], : cols[t]] == value[t])
    return place


def _score(
    place: np.ndarray, rows: np.ndarray, removed: np.ndarray, num_q: int
) -> tuple[np.ndarray, np.ndarray]:
    """First-match rank and AP of every query from the places of its same-pid items.

    Args:
        place: place of each same-pid pair in its query's full list (from `_places`).
        rows: query index of each pair.
        removed: whether the pair also shares the camid.
        num_q: number of queries.

    Returns:
        `(first, ap)`, each `(num_q,)`: 0-based rank of the first true match among the valid
        items (−1 when there is none) and the AP (NaN when there is none).
    """
    order = np.lexsort((place, rows))  # by query, then place in its list
    rows, place, removed = rows[order], place[order], removed[order]
    start = np.searchsorted(rows, rows)  # where each pair's query begins
    removed_before = np.cumsum(removed) - removed
    removed_before -= removed_before[start]  # removed items placed earlier in the same list
    rank = place - removed_before  # 0-based rank among the valid items
    k = np.arange(len(rows)) - start - removed_before  # true matches placed earlier
    hit = ~removed
    n_rel = np.bincount(rows[hit], minlength=num_q)
    precision = (k[hit] + 1) / (rank[hit] + 1)  # P@rank at the k-th true match
    ap_sum = np.bincount(rows[hit], weights=precision, minlength=num_q)
    ap = np.divide(ap_sum, n_rel, out=np.full(num_q, np.nan), where=n_rel > 0)
    first = np.full(num_q, -1, dtype=np.int64)
    first[rows[hit & (k == 0)]] = rank[hit & (k == 0)]
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
    """CMC, mAP and per-query results under the Market-1501/MARS protocol.

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
    rows, cols, removed = _same_pid_pairs(q_pids, g_pids, q_camids, g_camids)
    place = np.empty(len(rows), dtype=np.int64)
    top_indices = np.full((num_q, top_k), -1, dtype=np.int64)
    for start in range(0, num_q, rows_per_chunk):
        chunk = dist[start : start + rows_per_chunk]
        sorted_chunk = np.sort(chunk, axis=1)  # NaN sorts last
        if np.isnan(sorted_chunk[:, -1:]).any():
            raise ValueError(
                f"distmat has NaN distances (in query rows {start}..{start + len(chunk) - 1})"
            )
        lo, hi = np.searchsorted(rows, [start, start + len(chunk)])
        place[lo:hi] = _places(chunk, sorted_chunk, rows[lo:hi] - start, cols[lo:hi])
        if min(top_k, num_g) > 0:
            gone = lo + np.flatnonzero(removed[lo:hi])
            removed_mask = np.zeros(chunk.shape, dtype=bool)
            removed_mask[rows[gone] - start, cols[gone]] = True
            # with m items removed from a row, top_k remaining ones lie within its (top_k + m)-th
            last = top_k - 1 + np.bincount(rows[gone] - start, minlength=len(chunk))
            bound = sorted_chunk[np.arange(len(chunk)), np.minimum(last, num_g - 1)]
            top_indices[start : start + len(chunk)] = top_valid_items(
                chunk, removed_mask, k=top_k, bound=bound
            )

    first, ap = _score(place, rows, removed, num_q)
    valid = first >= 0
    num_valid = int(valid.sum())
    if num_valid == 0:
        raise ValueError(
            "no query has a true match in the gallery once same-pid same-camid items are "
            "removed: check q_pids/g_pids and q_camids/g_camids"
        )
    return EvalResult(
        cmc=(first[valid, None] <= np.arange(max_rank)).mean(axis=0),
        mAP=float(ap[valid].mean()),
        num_valid_queries=num_valid,
        valid=valid,
        first_match_rank=first,
        average_precision=ap,
        top_indices=top_indices,
        top_matches=(g_pids[top_indices] == q_pids[:, None]) & (top_indices >= 0),
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
