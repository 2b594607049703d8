"""Frame indices of training and test clips, and the C × K identity batch sampler."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from reidlib.data import (
    RandomIdentitySampler,
    dense_clip_indices,
    random_consecutive_indices,
    restricted_random_indices,
    sample_frame_indices,
)


def draws(fn, n, t, times=400):
    g = torch.Generator().manual_seed(0)
    return [fn(n, clip_len=t, generator=g) for _ in range(times)]


def test_restricted_random_takes_one_frame_per_chunk():
    # n = 10, T = 4: each = 2, chunks [0,1], [2,3], [4,5] and the last runs to the end [6..9]
    seen = [set(column) for column in zip(*draws(restricted_random_indices, 10, 4))]
    assert seen == [{0, 1}, {2, 3}, {4, 5}, {6, 7, 8, 9}]


@pytest.mark.parametrize(
    ("n", "expected"),
    [(1, [0, 0, 0, 0]), (2, [0, 1, 1, 1]), (3, [0, 1, 2, 2]), (4, [0, 1, 2, 3])],
)
def test_restricted_random_repeats_frames_of_short_tracklets(n, expected):
    assert all(d == expected for d in draws(restricted_random_indices, n, 4, times=20))


def test_restricted_random_bounds_for_many_lengths():
    for n in range(1, 40):
        each = max(n // 4, 1)
        for d in draws(restricted_random_indices, n, 4, times=30):
            for i, index in enumerate(d):
                low = min(i * each, n - 1)
                high = min((i + 1) * each - 1, n - 1) if i < 3 else n - 1
                assert low <= index <= high, (n, d)


def test_random_consecutive_start_range_and_cycling():
    # start uniform in [0, n - T - 1] (inclusive): n = 10, T = 4 -> starts 0..5
    starts = Counter(d[0] for d in draws(random_consecutive_indices, 10, 4))
    assert sorted(starts) == [0, 1, 2, 3, 4, 5]
    assert all(d == list(range(d[0], d[0] + 4)) for d in draws(random_consecutive_indices, 10, 4))
    assert draws(random_consecutive_indices, 5, 4, times=10) == [[0, 1, 2, 3]] * 10
    assert draws(random_consecutive_indices, 3, 4, times=5) == [[0, 1, 2, 0]] * 5


def test_sampling_randomness_is_repeatable():
    g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    a = [restricted_random_indices(50, clip_len=4, generator=g1) for _ in range(5)]
    b = [restricted_random_indices(50, clip_len=4, generator=g2) for _ in range(5)]
    assert a == b
    torch.manual_seed(3)  # generator=None draws from torch's global RNG
    c = [sample_frame_indices(50, clip_len=4, sampling="random_consecutive") for _ in range(5)]
    torch.manual_seed(3)
    d = [sample_frame_indices(50, clip_len=4, sampling="random_consecutive") for _ in range(5)]
    assert c == d and len({tuple(x) for x in c}) > 1
    with pytest.raises(ValueError, match="Unknown sampling 'dense'"):
        sample_frame_indices(5, clip_len=4, sampling="dense")


def test_dense_clips_reference_examples():
    assert dense_clip_indices(10, clip_len=4) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 8, 9]]
    assert dense_clip_indices(1, clip_len=4) == [[0, 0, 0, 0]]
    assert dense_clip_indices(8, clip_len=4) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert dense_clip_indices(5, clip_len=4) == [[0, 1, 2, 3], [4, 4, 4, 4]]
    assert dense_clip_indices(7, clip_len=4) == [[0, 1, 2, 3], [4, 5, 6, 4]]
    assert dense_clip_indices(3, clip_len=8) == [[0, 1, 2, 0, 1, 2, 0, 1]]


def test_dense_clips_cover_every_frame_once_and_cap():
    for n in range(1, 60):
        clips = dense_clip_indices(n, clip_len=4)
        assert len(clips) == -(-n // 4)
        assert sorted(set(i for c in clips for i in c)) == list(range(n))
    # MARS's longest tracklet, 920 frames, with the reference cap of 41 clips: 164 frames
    capped = dense_clip_indices(920, clip_len=4, max_clips=41)
    assert len(capped) == 41 and capped[-1] == [160, 161, 162, 163]
    assert dense_clip_indices(10, clip_len=4, max_clips=5) == dense_clip_indices(10, clip_len=4)
    with pytest.raises(ValueError, match="at least one frame"):
        dense_clip_indices(0, clip_len=4)
    with pytest.raises(ValueError, match="max_clips"):
        dense_clip_indices(10, clip_len=4, max_clips=0)


# ids 0..9 with 1..10 tracklets each; dataset index -> pid
PIDS = [pid for pid in range(10) for _ in range(pid + 1)]


def batches(sampler, epoch):
    sampler.set_epoch(epoch)
    return list(sampler)


def test_sampler_batches_hold_c_ids_times_k():
    sampler = RandomIdentitySampler(PIDS, num_ids_per_batch=3, num_instances=4, seed=0)
    assert len(sampler) == 3 and sampler.batch_size == 12  # 10 ids // 3; the rest dropped
    epoch = batches(sampler, 0)
    assert len(epoch) == 3
    used = []
    for batch in epoch:
        counts = Counter(PIDS[i] for i in batch)
        assert len(batch) == 12 and len(counts) == 3 and set(counts.values()) == {4}
        used += counts
        for pid in counts:
            if PIDS.count(pid) >= 4:  # enough tracklets: drawn without replacement
                assert len({i for i in batch if PIDS[i] == pid}) == 4
    assert len(used) == len(set(used)) == 9  # each id at most once per epoch


def test_sampler_replacement_only_when_needed():
    sampler = RandomIdentitySampler(PIDS, num_ids_per_batch=2, num_instances=4, seed=1)
    single = PIDS.index(0)  # id 0 has one tracklet
    drawn = {1: set(), 2: set()}  # ids 1 and 2: two and three tracklets, fewer than K = 4
    for epoch in range(30):
        for batch in batches(sampler, epoch):
            ids = [PIDS[i] for i in batch]
            if 0 in ids:
                assert [i for i in batch if PIDS[i] == 0] == [single] * 4
            for pid in set(ids) & set(drawn):
                drawn[pid] |= {i for i in batch if PIDS[i] == pid}
            for pid in set(ids) - {0, 1, 2}:
                assert len({i for i in batch if PIDS[i] == pid}) == 4
    # drawn with replacement from all of the id's tracklets, not one repeated
    assert drawn == {pid: {i for i, p in enumerate(PIDS) if p == pid} for pid in drawn}


def test_sampler_every_id_once_per_epoch_in_shuffled_order():
    sampler = RandomIdentitySampler(PIDS, num_ids_per_batch=2, num_instances=4, seed=0)
    orders = []
    for epoch in range(20):
        flat = [PIDS[i] for batch in batches(sampler, epoch) for i in batch[::4]]
        assert sorted(flat) == list(range(10))  # 10 ids, 5 full batches: nobody dropped
        orders.append(tuple(flat))
    assert len(set(orders)) == 20


def test_sampler_is_a_function_of_seed_and_epoch():
    a = RandomIdentitySampler(PIDS, num_ids_per_batch=3, num_instances=4, seed=5)
    b = RandomIdentitySampler(PIDS, num_ids_per_batch=3, num_instances=4, seed=5)
    assert batches(a, 4) == batches(b, 4)
    assert batches(a, 4) == batches(a, 4)  # iterating again replays the epoch
    assert batches(a, 4) != batches(a, 5)
    c = RandomIdentitySampler(PIDS, num_ids_per_batch=3, num_instances=4, seed=6)
    assert batches(c, 4) != batches(a, 4)
    # resume: a fresh sampler loaded with the state continues with the same batches
    a.set_epoch(9)
    resumed = RandomIdentitySampler(PIDS, num_ids_per_batch=3, num_instances=4, seed=0)
    resumed.load_state_dict(a.state_dict())
    assert a.state_dict() == {"seed": 5, "epoch": 9}
    assert list(resumed) == list(a)


def test_sampler_sizes_at_paper_scale():
    mars = [pid for pid in range(625) for _ in range(3)]
    assert len(RandomIdentitySampler(mars, num_ids_per_batch=8, num_instances=4)) == 78
    prid = [pid for pid in range(89) for _ in range(2)]
    assert len(RandomIdentitySampler(prid, num_ids_per_batch=8, num_instances=4)) == 11
    ilids = [pid for pid in range(150) for _ in range(2)]
    assert len(RandomIdentitySampler(ilids, num_ids_per_batch=8, num_instances=4)) == 18
    with pytest.raises(ValueError, match="2 identities cannot fill one batch of 8"):
        RandomIdentitySampler([0, 1, 1], num_ids_per_batch=8, num_instances=4)
