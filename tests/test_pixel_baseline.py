"""The raw-pixel reference ranking (reidlib.evaluation.pixels)."""

import pytest
import torch
from PIL import Image

from reidlib.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from reidlib.evaluation.pixels import central_columns, evaluate_pixel_baseline, pixel_features
from reidlib.types import Tracklet


def test_central_columns_by_hand():
    x = torch.arange(16.0).expand(2, 3, 16)
    assert central_columns(x, 0.5)[0, 0].tolist() == [4.0, 5, 6, 7, 8, 9, 10, 11]
    assert central_columns(x, 0.01)[0, 0].tolist() == [7.0]  # at least one column
    assert torch.equal(central_columns(x, 1.0), x)
    with pytest.raises(ValueError, match="center_fraction"):
        central_columns(x, 0.0)


def _tracklet(folder, name, colours, pid, camid):
    paths = []
    for i, colour in enumerate(colours):
        path = folder / f"{name}_{i}.png"
        Image.new("RGB", (16, 32), colour).save(path)
        paths.append(path)
    return Tracklet(tuple(paths), pid, camid)


def test_features_are_the_normalised_mean_colour(tmp_path):
    t = _tracklet(tmp_path, "a", [(255, 0, 0), (0, 0, 0)], pid=0, camid=0)
    feats = pixel_features([t], size=(32, 16))
    assert feats.shape == (1, 3 * 32 * 8)
    mean_rgb = torch.tensor([0.5, 0.0, 0.0])  # the mean of one red and one black frame
    expected = (mean_rgb - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    torch.testing.assert_close(feats.view(3, 32, 8), expected.view(3, 1, 1).expand(3, 32, 8))


def test_distinct_colours_rank_first(tmp_path):
    red, blue, green = (200, 30, 30), (30, 30, 200), (30, 200, 30)
    query = [
        _tracklet(tmp_path, "q0", [red], pid=0, camid=0),
        _tracklet(tmp_path, "q1", [blue], pid=1, camid=0),
    ]
    gallery = [
        _tracklet(tmp_path, "g1", [(40, 40, 190)], pid=1, camid=1),
        _tracklet(tmp_path, "g2", [green], pid=2, camid=1),
        _tracklet(tmp_path, "g0", [(190, 40, 40)], pid=0, camid=1),
    ]
    metrics = evaluate_pixel_baseline(query, gallery).metrics
    assert metrics["rank1"] == 100.0 and metrics["mAP"] == 100.0
    assert metrics["chance_rank1"] == pytest.approx(100 / 3)
