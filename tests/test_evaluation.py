"""CMC/mAP (docs/decisions.md §4) by hand and against a brute-force per-query reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

from reidlib.evaluation import evaluate, evaluate_detailed, pairwise_distance, top_valid_items


def brute_force(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=50, top_k=10):
    """One query at a time, the protocol as written: full stable sort, remove, score."""
    distmat = np.asarray(distmat, dtype=np.float64)
    num_q, num_g = distmat.shape
    max_rank = min(max_rank, num_g)
    first = np.full(num_q, -1)
    ap = np.full(num_q, np.nan)
    top_i = np.full((num_q, top_k), -1)
    top_m = np.zeros((num_q, top_k), dtype=bool)
    curves = []
    for i in range(num_q):
        order = np.lexsort((np.arange(num_g), distmat[i]))  # by distance, then gallery index
        removed = (g_pids[order] == q_pids[i]) & (g_camids[order] == q_camids[i])
        order = order[~removed]
        hits = g_pids[order] == q_pids[i]
        n = min(top_k, len(order))
        top_i[i, :n], top_m[i, :n] = order[:n], hits[:n]
        if not hits.any():
            continue
        first[i] = np.flatnonzero(hits)[0]
        cmc = np.minimum(np.cumsum(hits), 1)
        cmc = np.concatenate([cmc, np.ones(max(0, max_rank - len(cmc)))])[:max_rank]
        curves.append(cmc)
        precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
        ap[i] = (precision * hits).sum() / hits.sum()
    valid = first >= 0
    if not valid.any():
        return None, None, first, ap, valid, top_i, top_m
    return np.mean(curves, axis=0), np.nanmean(ap), first, ap, valid, top_i, top_m


# One hand example. Query 0: pid 1, camera 0. Gallery, by distance:
#   g0 pid 1 cam 0 d 0.1  (same pid + same camera: removed)
#   g1 pid 2 cam 1 d 0.2
#   g2 pid 1 cam 1 d 0.3  true match
#   g3 pid 3 cam 1 d 0.4
#   g4 pid 1 cam 2 d 0.5  true match
# Remaining list: g1 g2 g3 g4 -> hits 0 1 0 1 -> first match at rank 1 (0-based),
# AP = (1/2)(1/2 + 2/4) = 0.5.
# Query 1: pid 4, absent from the gallery -> skipped.
# Query 2: pid 2, camera 1: its only gallery item g1 is on camera 1 -> removed -> skipped.
HAND_DIST = np.array(
    [[0.1, 0.2, 0.3, 0.4, 0.5], [0.3, 0.1, 0.2, 0.5, 0.4], [0.5, 0.1, 0.2, 0.3, 0.4]]
)
HAND = {
    "q_pids": np.array([1, 4, 2]),
    "g_pids": np.array([1, 2, 1, 3, 1]),
    "q_camids": np.array([0, 0, 1]),
    "g_camids": np.array([0, 1, 1, 1, 2]),
}


def test_evaluate_by_hand():
    cmc, mAP = evaluate(HAND_DIST, **HAND)
    # max_rank 50 is clipped to the 5 gallery items; one valid query, first hit at rank 1
    np.testing.assert_array_equal(cmc, [0.0, 1.0, 1.0, 1.0, 1.0])
    assert mAP == pytest.approx(0.5)
    res = evaluate_detailed(HAND_DIST, **HAND, top_k=6)
    assert res.num_valid_queries == 1
    np.testing.assert_array_equal(res.valid, [True, False, False])
    np.testing.assert_array_equal(res.first_match_rank, [1, -1, -1])
    assert res.average_precision[0] == pytest.approx(0.5)
    assert np.isnan(res.average_precision[1:]).all()
    # query 0's list after the removal: g1 g2 g3 g4, then padding
    np.testing.assert_array_equal(res.top_indices[0], [1, 2, 3, 4, -1, -1])
    np.testing.assert_array_equal(res.top_matches[0], [False, True, False, True, False, False])
    # query 2 (pid 2, camera 1): g1 removed, the rest by distance: g2 0.2, g3 0.3, g4 0.4, g0 0.5
    np.testing.assert_array_equal(res.top_indices[2], [2, 3, 4, 0, -1, -1])
    assert not res.top_matches[2].any()


def test_distance_ties_break_by_gallery_index():
    # every distance 1.0: the list is the gallery order. Query pid 1, camera 0;
    # gallery: g0 pid 2 cam 1, g1 pid 1 cam 1, g2 pid 1 cam 0 (removed), g3 pid 3 cam 1,
    # g4 pid 1 cam 2 -> list g0 g1 g3 g4, hits 0 1 0 1 -> AP = (1/2)(1/2 + 2/4) = 0.5
    dist = np.ones((1, 5))
    ids = {
        "q_pids": np.array([1]),
        "g_pids": np.array([2, 1, 1, 3, 1]),
        "q_camids": np.array([0]),
        "g_camids": np.array([1, 1, 0, 1, 2]),
    }
    res = evaluate_detailed(dist, **ids, max_rank=3, top_k=4)
    np.testing.assert_array_equal(res.cmc, [0.0, 1.0, 1.0])
    assert res.mAP == pytest.approx(0.5)
    np.testing.assert_array_equal(res.top_indices, [[0, 1, 3, 4]])
    # a match tied with non-matches on both sides: g1 (hit) = g0 = g3 = 0.5, g4 (hit) 0.2
    # -> list g4 g0 g1 g3 -> hits 1 0 1 0 -> AP = (1/2)(1/1 + 2/3) = 5/6
    dist = np.array([[0.5, 0.5, 0.9, 0.5, 0.2]])
    cmc, mAP = evaluate(dist, **ids, max_rank=2)
    np.testing.assert_array_equal(cmc, [1.0, 1.0])
    assert mAP == pytest.approx(5 / 6)


def test_no_valid_query_raises():
    with pytest.raises(ValueError, match="no query has a true match"):
        evaluate(HAND_DIST[1:], **{k: (v[1:] if k.startswith("q") else v) for k, v in HAND.items()})


def test_bad_input_raises():
    with pytest.raises(ValueError, match=r"q_pids must have shape \(3,\)"):
        evaluate(HAND_DIST, **{**HAND, "q_pids": np.array([1, 4])})
    dist = HAND_DIST.copy()
    dist[0, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        evaluate(dist, **HAND)


def random_case(seed: int):
    """A random protocol case with many ties, skipped queries and sometimes infinite distances."""
    rng = np.random.default_rng(seed)
    num_q, num_g = rng.integers(1, 25), rng.integers(1, 60)
    n_ids, n_cams = rng.integers(2, 8), rng.integers(1, 4)
    q_pids = rng.integers(0, n_ids + 2, num_q)  # some query ids never appear in the gallery
    g_pids = rng.integers(0, n_ids, num_g)
    q_camids = rng.integers(0, n_cams, num_q)
    g_camids = rng.integers(0, n_cams, num_g)
    levels = rng.integers(1, 6)  # few distinct values -> many ties
    dist = rng.integers(0, levels, (num_q, num_g)).astype(np.float64) * 0.5
    dist += (rng.random((num_q, num_g)) < 0.3) * rng.random((num_q, num_g))  # some untied
    if seed % 5 == 0:
        dist[rng.random((num_q, num_g)) < 0.1] = np.inf
    if seed % 7 == 0:
        dist = -dist
    return dist, q_pids, g_pids, q_camids, g_camids


def test_matches_brute_force_on_random_cases():
    checked = skipped = 0
    for seed in range(300):
        dist, *ids = random_case(seed)
        ref = brute_force(dist, *ids, max_rank=8, top_k=7)
        if not ref[4].any():
            with pytest.raises(ValueError, match="no query has a true match"):
                evaluate(dist, *ids, max_rank=8)
            continue
        chunk = 1 + seed % 4 if seed % 2 else None  # several chunk sizes, incl. automatic
        res = evaluate_detailed(dist, *ids, max_rank=8, top_k=7, chunk_size=chunk)
        np.testing.assert_allclose(res.cmc, ref[0], rtol=1e-12, err_msg=f"seed {seed}")
        assert res.mAP == pytest.approx(ref[1], rel=1e-12), seed
        np.testing.assert_array_equal(res.first_match_rank, ref[2], err_msg=f"seed {seed}")
        np.testing.assert_allclose(res.average_precision, ref[3], rtol=1e-12)
        np.testing.assert_array_equal(res.valid, ref[4])
        np.testing.assert_array_equal(res.top_indices, ref[5], err_msg=f"seed {seed}")
        np.testing.assert_array_equal(res.top_matches, ref[6], err_msg=f"seed {seed}")
        checked += 1
        skipped += int((~ref[4]).sum())
    assert checked > 200 and skipped > 100  # the cases do exercise skipped queries


def test_matches_brute_force_at_a_larger_scale_in_float32():
    rng = np.random.default_rng(1)
    q = rng.normal(size=(150, 16)).astype(np.float32)
    g = rng.normal(size=(700, 16)).astype(np.float32)
    q_pids, g_pids = rng.integers(0, 40, 150), rng.integers(0, 40, 700)
    q_camids, g_camids = rng.integers(0, 6, 150), rng.integers(0, 6, 700)
    dist = pairwise_distance(torch.from_numpy(q), torch.from_numpy(g))
    dist = torch.round(dist)  # integer distances: ties everywhere
    ref = brute_force(dist.numpy(), q_pids, g_pids, q_camids, g_camids, top_k=20)
    res = evaluate_detailed(dist, q_pids, g_pids, q_camids, g_camids, top_k=20, chunk_size=32)
    np.testing.assert_allclose(res.cmc, ref[0], rtol=1e-12)
    assert res.mAP == pytest.approx(ref[1], rel=1e-12)
    np.testing.assert_array_equal(res.first_match_rank, ref[2])
    np.testing.assert_array_equal(res.top_indices, ref[5])


def test_numpy_and_torch_inputs_agree():
    dist, *ids = random_case(5)  # 12 of its 17 queries are valid; some distances are inf
    assert np.isinf(dist).any()
    cmc_np, map_np = evaluate(dist, *ids)
    cmc_t, map_t = evaluate(torch.from_numpy(dist), *(torch.from_numpy(x) for x in ids))
    np.testing.assert_array_equal(cmc_np, cmc_t)
    assert map_np == map_t


def test_top_valid_items_on_a_boundary_tie():
    # k = 2; remaining items at 0.1 (index 3) and three at 0.4 (indices 0, 2, 4); index 1 removed
    dist = torch.tensor([[0.4, 0.0, 0.4, 0.1, 0.4]])
    removed = torch.tensor([[False, True, False, False, False]])
    assert top_valid_items(dist, removed, k=2).tolist() == [[3, 0]]  # then the lowest index
    assert top_valid_items(dist, removed, k=3).tolist() == [[3, 0, 2]]
    # k beyond the remaining items: padded with −1; a removed item never shows, even at inf
    dist = torch.tensor([[float("inf"), 0.2, float("inf")]])
    removed = torch.tensor([[True, False, False]])
    assert top_valid_items(dist, removed, k=4).tolist() == [[1, 2, -1, -1]]


def test_top_valid_items_matches_brute_force():
    for seed in range(0, 300, 3):
        dist, q_pids, g_pids, q_camids, g_camids = random_case(seed)
        removed = (q_pids[:, None] == g_pids) & (q_camids[:, None] == g_camids)
        ref = brute_force(dist, q_pids, g_pids, q_camids, g_camids, top_k=6)[5]
        np.testing.assert_array_equal(
            top_valid_items(dist, removed, k=6), ref, err_msg=f"seed {seed}"
        )
        # a looser bound (here the row maximum) gives the same lists
        loose = top_valid_items(dist, removed, k=6, bound=dist.max(axis=1))
        np.testing.assert_array_equal(loose, ref, err_msg=f"seed {seed}")


def test_every_distance_tied_ranks_by_gallery_index():
    # all distances equal: each query's list is the gallery in index order, minus its removed items
    rng = np.random.default_rng(3)
    q_pids, g_pids = rng.integers(0, 10, 60), rng.integers(0, 10, 400)
    q_camids, g_camids = rng.integers(0, 3, 60), rng.integers(0, 3, 400)
    dist = np.full((60, 400), 2.0)
    ref = brute_force(dist, q_pids, g_pids, q_camids, g_camids, top_k=12)
    res = evaluate_detailed(dist, q_pids, g_pids, q_camids, g_camids, top_k=12, chunk_size=7)
    np.testing.assert_allclose(res.cmc, ref[0], rtol=1e-12)
    np.testing.assert_array_equal(res.first_match_rank, ref[2])
    np.testing.assert_allclose(res.average_precision, ref[3], rtol=1e-12)
    np.testing.assert_array_equal(res.top_indices, ref[5])
    np.testing.assert_array_equal(res.top_matches, ref[6])


def test_integer_half_precision_and_grad_inputs_agree():
    # small integer distances are exact in every dtype, so ranks and ties are the same
    rng = np.random.default_rng(4)
    ids = random_case(4)[1:]
    dist = rng.integers(0, 4, (len(ids[0]), len(ids[1])))
    ref = evaluate_detailed(dist.astype(np.float64), *ids, top_k=5)
    inputs = [
        dist,
        torch.from_numpy(dist).half(),
        torch.from_numpy(dist).bfloat16(),
        torch.from_numpy(dist).float().requires_grad_(),
    ]
    for x in inputs:
        res = evaluate_detailed(x, *ids, top_k=5)
        np.testing.assert_array_equal(res.cmc, ref.cmc)
        np.testing.assert_array_equal(res.average_precision, ref.average_precision)
        np.testing.assert_array_equal(res.top_indices, ref.top_indices)


# ----------------------------------------------------------------------------- distances


def test_pairwise_distance_by_hand():
    q = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    g = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
    # (0,0)-(3,4): 25, (0,0)-(1,0): 1, (1,1)-(3,4): 4 + 9 = 13, (1,1)-(1,0): 1
    torch.testing.assert_close(pairwise_distance(q, g), torch.tensor([[25.0, 1.0], [13.0, 1.0]]))
    torch.testing.assert_close(
        pairwise_distance(q, g, metric="euclidean"),
        torch.tensor([[5.0, 1.0], [math.sqrt(13), 1.0]]),
    )
    # cosine of (1,1) with (3,4): 7/(√2·5); with (1,0): 1/√2; the zero vector gives 1 − 0
    expected = torch.tensor([[1.0, 1.0], [1 - 7 / (5 * math.sqrt(2)), 1 - 1 / math.sqrt(2)]])
    torch.testing.assert_close(pairwise_distance(q, g, metric="cosine"), expected)


@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean", "cosine"])
def test_pairwise_distance_matches_scipy(metric):
    rng = np.random.default_rng(0)
    q, g = rng.normal(size=(7, 5)), rng.normal(size=(11, 5))
    np.testing.assert_allclose(
        pairwise_distance(q, g, metric=metric).numpy(), cdist(q, g, metric), rtol=1e-9
    )


def test_pairwise_distance_rejects_bad_input():
    with pytest.raises(ValueError, match="feature width"):
        pairwise_distance(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="Unknown metric"):
        pairwise_distance(np.zeros((2, 3)), np.zeros((2, 3)), metric="manhattan")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    dist, *ids = random_case(5)
    cmc, mAP = evaluate(dist, *ids)
    cmc_cuda, map_cuda = evaluate(torch.from_numpy(dist).cuda(), *ids)
    np.testing.assert_allclose(cmc_cuda, cmc)
    assert map_cuda == pytest.approx(mAP)


def test_distances_agree_across_dtypes_and_autograd():
    gen = torch.Generator().manual_seed(5)
    q, g = torch.randn(3, 8, generator=gen), torch.randn(4, 8, generator=gen)
    ref = ((q[:, None, :] - g[None, :, :]) ** 2).sum(-1)
    torch.testing.assert_close(pairwise_distance(q, g), ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(
        pairwise_distance(q.bfloat16(), g.bfloat16()).float(), ref, rtol=0.05, atol=0.1
    )
    dist = pairwise_distance(q.requires_grad_(), g)  # torch's matmul keeps the graph
    assert dist.requires_grad
