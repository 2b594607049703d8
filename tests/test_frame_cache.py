"""Decoded test frames kept on disk (`reidlib.data.frame_cache`): the tensors and metrics they
give are the decoded ones bit for bit, a second build decodes nothing, changed or damaged data
are decoded again, and nothing is written beside the data."""

from __future__ import annotations

import os
import pickle
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from reidlib.data import (
    FrameReadError,
    TrackletDataset,
    TrackletFrames,
    build_test_transform,
    clip_dataset,
    frame_cache,
)
from reidlib.data.frame_cache import CachedFrames, cache_frames, frames_dir
from reidlib.data.io import read_frame
from reidlib.evaluation.pixels import evaluate_pixel_baseline, pixel_features
from reidlib.training import build_run, load_dataset
from reidlib.types import Tracklet
from tests.data_builders import TINY_MARS, write_frame
from tests.test_training import tiny_config, tiny_trainer

SIZE = (32, 16)


@pytest.fixture(scope="module")
def tiny_root(synthetic_root) -> Path:
    return synthetic_root("mars", **TINY_MARS)  # 8 query + 14 gallery tracklets, 310 frames


@pytest.fixture(scope="module")
def query_and_gallery(tiny_root) -> list[Tracklet]:
    dataset = load_dataset(tiny_config(tiny_root).data, progress=False)
    return [*dataset.query, *dataset.gallery]


@pytest.fixture
def decoded(monkeypatch) -> dict[str, list[Path]]:
    """The frames `read_frame` decodes from here on, for the cache and for the test dataset."""
    calls: dict[str, list[Path]] = {"cache": [], "dataset": []}
    for name, module in (("cache", frame_cache), ("dataset", clip_dataset)):

        def counted(path: Path, _calls: list[Path] = calls[name]):
            _calls.append(path)
            return read_frame(path)

        monkeypatch.setattr(module, "read_frame", counted)
    return calls


def small_tracklets(root: Path) -> list[Tracklet]:
    """Two tracklets of three solid 8×4 PNG frames each, grey levels 10, 20, ... 60."""
    tracklets = []
    for t in range(2):
        frames = tuple(root / f"t{t}" / f"{i}.png" for i in range(3))
        for i, path in enumerate(frames):
            write_frame(path, 10 * (3 * t + i + 1))
        tracklets.append(Tracklet(frames, t, t))
    return tracklets


def files_under(root: Path) -> set[Path]:
    return set(root.rglob("*"))


def test_cached_frames_are_the_test_transforms_tensors_bit_for_bit(query_and_gallery, tmp_path):
    frames_of = list(dict.fromkeys(p for t in query_and_gallery for p in t.frames))
    for size in (SIZE, (64, 32)):  # the frames' own size, and an upscale
        frames = cache_frames(query_and_gallery, size=size, folder=tmp_path, progress=False)
        assert frames.pixels.shape == (310, *size, 3) and frames.pixels.dtype == np.uint8
        assert frames.path.parent == tmp_path
        assert frames.path.name.startswith(f"{size[0]}x{size[1]}-")
        transform = build_test_transform(size=size)
        for path in frames_of:
            assert torch.equal(frames.tensor(path), transform(read_frame(path))), path
        dense = TrackletDataset(query_and_gallery[:3], transform=transform, clip_len=2)
        cached = TrackletDataset(query_and_gallery[:3], clip_len=2, frames=frames)
        for i in range(3):
            assert torch.equal(cached[i][0], dense[i][0])


def test_a_second_build_reads_the_file_and_decodes_nothing(query_and_gallery, tmp_path, decoded):
    first = cache_frames(query_and_gallery, size=SIZE, folder=tmp_path, progress=False)
    assert len(decoded["cache"]) == 310 == len(set(decoded["cache"]))  # each frame once
    second = cache_frames(query_and_gallery, size=SIZE, folder=tmp_path, progress=False)
    assert len(decoded["cache"]) == 310 and second.path == first.path
    frame = query_and_gallery[0].frames[0]
    assert torch.equal(second.tensor(frame), first.tensor(frame))
    assert decoded["dataset"] == []
    # a DataLoader worker gets the file's name, not the pixels, and maps the file itself
    restored = pickle.loads(pickle.dumps(second))
    assert len(pickle.dumps(second)) < second.pixels.nbytes
    assert torch.equal(restored.tensor(frame), first.tensor(frame))
    other = cache_frames(query_and_gallery, size=(64, 32), folder=tmp_path, progress=False)
    assert other.path != first.path and len(decoded["cache"]) == 2 * 310  # another size


def test_build_run_hands_the_trainer_the_runs_frame_folder(tiny_root, tmp_path, monkeypatch):
    monkeypatch.setenv("GOMP_SPINCOUNT", "3000")  # no warning about spinning threads
    cfg = tiny_config(tiny_root)
    dataset = load_dataset(cfg.data, progress=False)
    trainer = build_run(cfg, dataset, runs_root=tmp_path / "runs", progress=False)
    assert trainer.frame_cache == frames_dir(tmp_path / "runs") == tmp_path / "runs" / "frames"


def test_trainer_evaluation_reads_the_cache_and_scores_the_same(tiny_root, tmp_path, decoded):
    cfg = tiny_config(tiny_root)
    dataset = load_dataset(cfg.data, progress=False)
    data_files = files_under(tiny_root)
    folder = tmp_path / "runs" / "frames"
    trainer = tiny_trainer(cfg, dataset, frame_cache=folder)
    first = trainer.evaluate()
    assert len(decoded["cache"]) == 310 and decoded["dataset"] == []  # decoded once, read back
    second = trainer.evaluate()
    assert len(decoded["cache"]) == 310 and decoded["dataset"] == []  # nothing decoded
    [cached] = folder.glob("*.npy")
    assert cached.name.startswith("32x16-")
    plain = tiny_trainer(cfg, dataset).evaluate()  # today's path: every frame decoded
    assert len(decoded["dataset"]) > 0
    for ev in (first, second):
        assert ev.metrics == plain.metrics
        assert torch.equal(ev.q_features, plain.q_features)
        assert torch.equal(ev.g_features, plain.g_features)
    assert files_under(tiny_root) == data_files  # nothing written beside the data
    decoded["dataset"].clear()
    trainer.evaluate(query=dataset.query[:2], gallery=dataset.gallery[:4])
    assert len(decoded["cache"]) == 310 and decoded["dataset"]  # a subset is decoded as given


def test_a_test_set_too_large_to_keep_is_decoded_each_time(
    tiny_root, tmp_path, decoded, monkeypatch
):
    from reidlib.data import frame_cache

    cfg = tiny_config(tiny_root)
    dataset = load_dataset(cfg.data, progress=False)
    test = [*dataset.query, *dataset.gallery]
    assert frame_cache.fits_cache(test, size=(32, 16))  # 310 frames, 476 kB
    monkeypatch.setattr(frame_cache, "MAX_CACHE_BYTES", 310 * 32 * 16 * 3 - 1)
    assert not frame_cache.fits_cache(test, size=(32, 16))
    folder = tmp_path / "runs" / "frames"
    tiny_trainer(cfg, dataset, frame_cache=folder).evaluate()
    assert decoded["cache"] == [] and len(decoded["dataset"]) > 0 and not folder.exists()


@pytest.mark.parametrize("change", ["content, same size", "size, same mtime"])
def test_a_changed_frame_is_decoded_again(tmp_path, change, decoded):
    tracklets = small_tracklets(tmp_path / "data")
    folder = tmp_path / "runs" / "frames"
    before = cache_frames(tracklets, size=(8, 4), folder=folder, progress=False)
    frame = tracklets[1].frames[2]
    stat = frame.stat()
    if change == "content, same size":
        write_frame(frame, 200)
        assert frame.stat().st_size == stat.st_size
        os.utime(frame, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    else:
        write_frame(frame, 200, size=(16, 8))
        assert frame.stat().st_size != stat.st_size
        os.utime(frame, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    after = cache_frames(tracklets, size=(8, 4), folder=folder, progress=False)
    assert after.path != before.path and len(decoded["cache"]) == 2 * 6
    assert torch.equal(after.tensor(frame), build_test_transform(size=(8, 4))(read_frame(frame)))
    assert not torch.equal(after.tensor(frame), before.tensor(frame))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-100])


def _other_shape(path: Path) -> None:
    np.save(path, np.zeros((5, 8, 4, 3), np.uint8))


def _float(path: Path) -> None:
    np.save(path, np.zeros((6, 8, 4, 3), np.float32))


def _longer(path: Path) -> None:
    path.write_bytes(path.read_bytes() + bytes(10))


def _not_npy(path: Path) -> None:
    path.write_bytes(b"not an array")


@pytest.mark.parametrize("damage", [_truncate, _other_shape, _float, _longer, _not_npy])
def test_a_damaged_cache_file_is_decoded_again(tmp_path, damage, decoded, capsys):
    tracklets = small_tracklets(tmp_path / "data")
    folder = tmp_path / "frames"
    frames = cache_frames(tracklets, size=(8, 4), folder=folder, progress=False)
    whole = frames.path.read_bytes()
    damage(frames.path)
    again = cache_frames(tracklets, size=(8, 4), folder=folder, progress=False)
    assert again.path == frames.path and len(decoded["cache"]) == 2 * 6
    assert again.path.read_bytes() == whole
    assert "decoding again" in capsys.readouterr().err
    fresh = CachedFrames(frames.path, size=(8, 4), rows=frames.rows)  # a worker's view
    damage(frames.path)
    with pytest.raises(FileNotFoundError, match="missing or damaged"):
        fresh.tensor(tracklets[0].frames[0])


def test_two_builders_at_once_decode_the_frames_once(tmp_path, monkeypatch, capsys):
    tracklets = small_tracklets(tmp_path / "data")
    folder = tmp_path / "frames"
    probe = cache_frames(tracklets, size=(8, 4), folder=folder, progress=False)
    probe.path.unlink()
    stale = probe.path.with_name(f".{probe.path.name}.99999999.tmp")
    stale.write_bytes(b"left by a killed process")
    decoded: list[Path] = []

    def slow_read(path: Path):  # a build long enough for the other builder to arrive
        decoded.append(path)
        time.sleep(0.05)
        return read_frame(path)

    monkeypatch.setattr(frame_cache, "read_frame", slow_read)
    found: list[Path] = []
    start = threading.Barrier(2)

    def build() -> None:  # each with its own lock file handle, as two processes
        start.wait()
        found.append(cache_frames(tracklets, size=(8, 4), folder=folder, progress=True).path)

    builders = [threading.Thread(target=build) for _ in range(2)]
    for b in builders:
        b.start()
    for b in builders:
        b.join()
    assert found == [probe.path, probe.path] and len(decoded) == 6
    assert capsys.readouterr().err.count("another process is decoding frames; waiting") == 1
    assert not stale.exists()
    assert sorted(p.name for p in folder.iterdir()) == [".lock", probe.path.name]


def test_errors_name_the_frame_and_leave_no_file(tmp_path):
    tracklets = small_tracklets(tmp_path / "data")
    folder = tmp_path / "frames"
    broken = tracklets[1].frames[1]
    broken.write_bytes(b"not an image")
    with pytest.raises(FrameReadError, match=re.escape(f"{broken}: not a readable image")):
        cache_frames(tracklets, size=(8, 4), folder=folder, progress=False)
    assert not list(folder.glob("*.npy")) and not list(folder.glob(".*.tmp"))
    broken.unlink()
    with pytest.raises(FileNotFoundError, match=re.escape(f"{broken}: frame not found")):
        cache_frames(tracklets, size=(8, 4), folder=folder, progress=False)


def test_the_cache_is_never_written_among_the_frames(tmp_path):
    tracklets = small_tracklets(tmp_path / "data")
    before = files_under(tmp_path / "data")
    for folder in (tmp_path / "data" / "t0", tmp_path / "data" / "t1" / "frames"):
        with pytest.raises(ValueError, match="a folder of frames"):
            cache_frames(tracklets, size=(8, 4), folder=folder, progress=False)
    assert files_under(tmp_path / "data") == before
    beside = cache_frames(tracklets, size=(8, 4), folder=tmp_path / "runs", progress=False)
    assert beside.path.parent == tmp_path / "runs"  # a folder beside the frames' is fine


def test_other_transforms_and_frames_are_refused(query_and_gallery, tmp_path):
    frames = cache_frames(query_and_gallery[:2], size=SIZE, folder=tmp_path, progress=False)
    refused: list[Callable] = [build_test_transform(size=(64, 32)), lambda image: image]
    for transform in refused:
        with pytest.raises(ValueError, match=r"expected None or build_test_transform\(size="):
            TrackletDataset(query_and_gallery[:2], transform=transform, frames=frames)
    first = query_and_gallery[0]
    same = TrackletFrames(first, transform=build_test_transform(size=SIZE), frames=frames)
    assert torch.equal(same[0], frames.tensor(first.frames[0]))
    with pytest.raises(KeyError, match="not among the"):
        TrackletFrames(query_and_gallery[5], frames=frames)[0]


def test_the_pixel_reference_reads_the_same_frames(query_and_gallery, tmp_path, decoded):
    query, gallery = query_and_gallery[:8], query_and_gallery[8:]
    frames = cache_frames(query_and_gallery, size=SIZE, folder=tmp_path, progress=False)
    cached = pixel_features(query_and_gallery, size=SIZE, frames=frames)
    assert decoded["dataset"] == []  # read, not decoded
    assert torch.equal(cached, pixel_features(query_and_gallery, size=SIZE))
    ev = evaluate_pixel_baseline(query, gallery, size=SIZE, frames=frames)
    assert ev.metrics == evaluate_pixel_baseline(query, gallery, size=SIZE).metrics
    with pytest.raises(ValueError, match="does not match the frames cached"):
        pixel_features(query_and_gallery, size=(64, 32), frames=frames)


# ---------------------------------------------------------------- training frames


def pil_training_transform(transform, image, generator):
    """The training transform as it was written on PIL images before the cache (resize, flip,
    pad, crop, then to tensor): the reference the cached path must reproduce bit for bit."""
    from torchvision.transforms.v2 import functional as TF

    from reidlib.data.transforms import _randint, normalise_pixels

    height, width = transform.size
    image = transform.resize(image)
    if torch.rand(1, generator=generator).item() < transform.flip_p:
        image = TF.horizontal_flip(image)
    if transform.padding:
        image = TF.pad(image, [transform.padding])
    top = _randint(0, 2 * transform.padding, generator)
    left = _randint(0, 2 * transform.padding, generator)
    tensor = normalise_pixels(TF.pil_to_tensor(TF.crop(image, top, left, height, width)))
    if transform.erasing is None:
        return tensor, False
    return transform.erasing(tensor, generator=generator)


def test_training_clips_from_cached_frames_are_the_decoded_ones_bit_for_bit(tiny_root, tmp_path):
    from reidlib.data import VideoDataset, build_train_transform
    from reidlib.data.clip_dataset import ClipDraw

    train = load_dataset(tiny_config(tiny_root).data, progress=False).train
    frames = cache_frames(train, size=SIZE, folder=tmp_path / "frames", progress=False)
    for padding in (1, 3):  # the quick profile's, and one that shifts the crop further
        transform = build_train_transform(size=SIZE, padding=padding)
        plain = VideoDataset(train, clip_len=4, transform=transform)
        cached = VideoDataset(train, clip_len=4, transform=transform, frames=frames)
        flips = erased = 0
        for seed in range(40):
            draw = ClipDraw(index=seed % len(train), seed=seed)
            clip, pid, camid, flags = plain[draw]
            cached_clip, cached_pid, cached_camid, cached_flags = cached[draw]
            assert torch.equal(cached_clip, clip) and torch.equal(cached_flags, flags)
            assert (cached_pid, cached_camid) == (pid, camid)
            # and both are the PIL pipeline, draw for draw
            generator = torch.Generator().manual_seed(seed)
            indices = clip_dataset.sample_frame_indices(
                len(train[draw.index].frames), clip_len=4, sampling="restricted_random",
                generator=generator,
            )  # fmt: skip
            for t, i in enumerate(indices):
                image = read_frame(train[draw.index].frames[i])
                before = generator.get_state()
                flipped = torch.rand(1, generator=generator).item() < transform.flip_p
                generator.set_state(before)
                reference, hit = pil_training_transform(transform, image, generator)
                assert torch.equal(clip[t], reference) and bool(flags[t]) == hit
                flips, erased = flips + flipped, erased + hit
        assert flips > 0 and erased > 0  # the draws did flip and erase


def test_a_run_decodes_its_training_frames_once(tiny_root, tmp_path, decoded):
    cfg = tiny_config(tiny_root, train={"epochs": 1})
    dataset = load_dataset(cfg.data, progress=False)
    runs = tmp_path / "runs"
    train_frames = {p for t in dataset.train for p in t.frames}
    first = build_run(cfg, dataset, runs_root=runs, progress=False)
    list(first.epoch_loader(0))
    assert set(decoded["cache"]) == train_frames  # decoded once, into the runs' folder
    assert decoded["dataset"] == []  # the clips read them from there
    decoded["cache"].clear()
    second = build_run(
        cfg.with_overrides(train={"seed": 1}), dataset, runs_root=runs, progress=False
    )
    list(second.epoch_loader(0))
    assert decoded["cache"] == [] and decoded["dataset"] == []


def test_training_frames_of_another_size_are_refused(tiny_root, tmp_path):
    from reidlib.data import VideoDataset, build_train_transform

    train = load_dataset(tiny_config(tiny_root).data, progress=False).train
    frames = cache_frames(train, size=SIZE, folder=tmp_path, progress=False)
    with pytest.raises(ValueError, match=r"cached at \(32, 16\).*resizes to \(64, 32\)"):
        VideoDataset(train, transform=build_train_transform(size=(64, 32)), frames=frames)
