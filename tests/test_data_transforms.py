"""Per-frame transforms, random erasing flags, and the training and test datasets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from reidlib.data import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    RandomErasingWithFlag,
    TrackletDataset,
    TrackletFrames,
    TrainTransform,
    VideoDataset,
    build_test_transform,
    build_train_transform,
    denormalize,
)
from reidlib.data.clip_dataset import ClipDraw
from reidlib.data.transforms import normalise_pixels
from reidlib.types import Tracklet
from tests.data_builders import write_frame


@pytest.fixture
def tracklet(tmp_path) -> Tracklet:
    """Ten 16×8 frames whose grey level is 20 × frame number."""
    frames = tuple(tmp_path / f"{i:03d}.png" for i in range(10))
    for i, path in enumerate(frames):
        write_frame(path, 20 * i, size=(16, 8))
    return Tracklet(frames, pid=3, camid=1)


def test_erasing_flag_agrees_with_the_pixels_that_changed():
    torch.manual_seed(0)
    erase = RandomErasingWithFlag()
    fill = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    flags = []
    for _ in range(1000):
        image = torch.randn(3, 224, 112)
        out, flag = erase(image)
        changed = (out != image).any(dim=0)
        assert flag == bool(changed.any())
        if flag:  # one rectangle, filled with the ImageNet means (in normalised space)
            rows, cols = changed.any(dim=1).nonzero(), changed.any(dim=0).nonzero()
            box = out[:, rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
            assert changed.sum() == box.shape[1] * box.shape[2]
            assert torch.equal(box, fill.expand_as(box))
            area = box.shape[1] * box.shape[2] / (224 * 112)
            assert 0.015 < area < 0.42
        flags.append(flag)
    # p = 0.5 and one attempt: some attempts do not fit, so the rate is a little under 0.5
    assert 0.41 < np.mean(flags) < 0.53


def test_erasing_does_not_modify_its_input_and_respects_p():
    image = torch.randn(3, 32, 16)
    copy = image.clone()
    torch.manual_seed(1)
    assert all(not RandomErasingWithFlag(p=0.0)(image)[1] for _ in range(50))
    for _ in range(50):
        RandomErasingWithFlag(p=1.0)(image)
    assert torch.equal(image, copy)


def test_train_transform_draws_from_the_generator_it_is_given():
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (128, 64, 3), np.uint8))
    transform = build_train_transform(size=(224, 112))
    draw = lambda seed: transform(image, generator=torch.Generator().manual_seed(seed))  # noqa: E731
    state = torch.get_rng_state()
    first = [draw(seed) for seed in range(8)]
    assert torch.equal(torch.get_rng_state(), state)  # the global generator is not touched
    torch.manual_seed(123)
    second = [draw(seed) for seed in range(8)]
    for (a, fa), (b, fb) in zip(first, second):
        assert a.shape == (3, 224, 112) and a.dtype == torch.float32
        assert torch.equal(a, b) and fa == fb
    assert {f for _, f in first} == {False, True}
    assert not torch.equal(first[0][0], first[1][0])  # another seed, another crop/flip/erasing
    no_erasing = build_train_transform(size=(64, 32), erasing=False)
    assert not any(no_erasing(image)[1] for _ in range(20))


def test_test_transform_normalises_with_imagenet_statistics():
    image = Image.new("RGB", (64, 128), (255, 128, 0))
    out = build_test_transform(size=(32, 16))(image)
    assert out.shape == (3, 32, 16)
    expected = [(v / 255 - m) / s for v, m, s in zip((255, 128, 0), IMAGENET_MEAN, IMAGENET_STD)]
    assert torch.allclose(out.mean(dim=(1, 2)), torch.tensor(expected), atol=1e-5)
    assert torch.allclose(denormalize(out)[:, 0, 0], torch.tensor([1.0, 128 / 255, 0.0]), atol=1e-5)


def test_the_tensor_steps_compute_what_torchvisions_functions_do():
    # the augmentation and normalisation are written in torch (no torchvision import in a
    # process that reads decoded frames); they must give torchvision's tensors bit for bit
    from torchvision.transforms.v2 import functional as TF

    pixels = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (3, 32, 16), np.uint8))
    expected = TF.normalize(
        TF.to_dtype(pixels, torch.float32, scale=True), list(IMAGENET_MEAN), list(IMAGENET_STD)
    )
    assert torch.equal(normalise_pixels(pixels), expected)
    transform = build_train_transform(size=(32, 16), erasing=False)  # padding 1
    for seed in range(8):  # flips and crops of every kind
        got, _ = transform.augment(pixels, generator=torch.Generator().manual_seed(seed))
        generator = torch.Generator().manual_seed(seed)
        flipped = torch.rand(1, generator=generator).item() < 0.5
        moved = TF.pad(TF.horizontal_flip(pixels) if flipped else pixels, [1])
        top = int(torch.randint(0, 3, (1,), generator=generator))
        left = int(torch.randint(0, 3, (1,), generator=generator))
        want = TF.normalize(
            TF.to_dtype(TF.crop(moved, top, left, 32, 16), torch.float32, scale=True),
            list(IMAGENET_MEAN),
            list(IMAGENET_STD),
        )
        assert torch.equal(got, want)


def test_video_dataset_item_and_erased_flags(tracklet):
    # a deterministic frame transform, so any difference from it is the erasing
    plain = build_test_transform(size=(16, 8))
    erasing = RandomErasingWithFlag(p=0.5)
    transform = TrainTransform(size=(16, 8), padding=0, flip_p=0.0, erasing=erasing)
    dataset = VideoDataset([tracklet], clip_len=4, transform=transform)
    seen = set()
    for seed in range(20):
        clip, pid, camid, erased = dataset[ClipDraw(0, seed)]
        assert clip.shape == (4, 3, 16, 8) and erased.shape == (4,)
        assert (pid, camid) == (3, 1) and erased.dtype == torch.float32
        for frame, flag in zip(clip, erased.tolist()):
            # grey level identifies the frame; restricted random keeps temporal order
            level = round(float(denormalize(frame)[0].max()) * 255 / 20)
            clean = plain(Image.new("RGB", (8, 16), (20 * level,) * 3))
            assert flag == float(not torch.equal(frame, clean))
            seen.add(flag)
    assert seen == {0.0, 1.0}
    assert dataset.pids == [3]
    with pytest.raises(ValueError, match="Unknown sampling"):
        VideoDataset([tracklet], sampling="dense")


def test_video_dataset_clips_follow_the_sampler(tracklet):
    fixed = TrainTransform(size=(16, 8), padding=0, flip_p=0.0, erasing=None)
    dataset = VideoDataset([tracklet], clip_len=4, transform=fixed)
    draws = set()
    for seed in range(10):
        clip, *_ = dataset[ClipDraw(0, seed)]
        levels = [round(float(denormalize(f)[0, 0, 0]) * 255 / 20) for f in clip]
        # 10 frames, T = 4: chunks [0,1], [2,3], [4,5], [6..9]
        assert levels[0] in (0, 1) and levels[1] in (2, 3) and levels[2] in (4, 5)
        assert 6 <= levels[3] <= 9
        draws.add(tuple(levels))
    assert len(draws) > 1  # the seed picks the frames
    assert torch.equal(dataset[ClipDraw(0, 3)][0], dataset[ClipDraw(0, 3)][0])


def test_tracklet_frames_decode_on_demand(tracklet):
    frames = TrackletFrames(tracklet, transform=build_test_transform(size=(16, 8)))
    assert len(frames) == 10
    level = lambda x: round(float(denormalize(x)[0, 0, 0]) * 255 / 20)  # noqa: E731
    assert [level(frames[i]) for i in (0, 4, -1)] == [0, 4, 9]
    assert [level(x) for x in frames[2:5]] == [2, 3, 4]
    with pytest.raises(IndexError):
        frames[10]


def test_tracklet_dataset_stacks_the_dense_clips(tracklet):
    dataset = TrackletDataset([tracklet], transform=build_test_transform(size=(16, 8)), clip_len=4)
    clips, pid, camid = dataset[0]
    assert clips.shape == (3, 4, 3, 16, 8) and (pid, camid) == (3, 1)
    levels = [[round(float(denormalize(f)[0, 0, 0]) * 255 / 20) for f in c] for c in clips]
    assert levels == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 8, 9]]
    capped = TrackletDataset([tracklet], transform=build_test_transform(size=(16, 8)), max_clips=2)
    assert capped[0][0].shape[0] == 2


@pytest.mark.parametrize(
    ("size", "pad"),
    [((256, 128), 10), ((224, 112), 10), ((64, 32), 3), ((32, 16), 1)],  # the paper's 10 px
)
def test_padding_is_the_papers_and_scales_down_only_below_224(size, pad):
    transform = build_train_transform(size=size, erasing=False)
    assert transform.padding == pad
    # a uniform frame padded by `pad` and cropped back: at most `pad` black rows or columns
    frame = Image.new("RGB", (size[1], size[0]), (255, 255, 255))
    out, _ = transform(frame, generator=torch.Generator().manual_seed(0))
    black = (out[0] < 0).all(dim=0)  # normalised zero is negative in every channel
    assert int(black.sum()) <= pad * size[1] + pad * size[0]
