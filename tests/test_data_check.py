"""`check_dataset` and `reidlib check-data`: every frame a run reads is opened and verified
before training, and each unreadable frame is named with what is wrong."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import reidlib.data.check
from reidlib.cli import main
from reidlib.data import (
    ILIDSVID,
    PRID2011,
    FrameProblem,
    FrameReadError,
    Mars,
    check_dataset,
    check_frame,
    read_frame,
)
from tests.data_builders import (
    build_mini_ilids,
    build_mini_mars,
    build_mini_prid,
    fingerprint,
    write_noise_frame,
)

TRUNCATED_JPEG = "truncated JPEG (no end-of-image marker)"


def truncate(path: Path, *, drop: int) -> None:
    """Cuts the last `drop` bytes, as an interrupted copy or download does."""
    path.write_bytes(path.read_bytes()[:-drop])


@pytest.mark.parametrize(
    ("build", "loader", "frames"),
    [(build_mini_mars, Mars, 12 + 4 + 13),  # junk rows are not read, so not checked
     (build_mini_prid, PRID2011, 21),  # split 0: persons 1-4, both cameras
     (build_mini_ilids, ILIDSVID, 24)]  # split 0 uses all four people,
)  # fmt: skip
def test_a_clean_dataset_passes_untouched(tmp_path, build, loader, frames):
    root = build(tmp_path / "data")
    before = fingerprint(root)
    check = check_dataset(loader(root), workers=1, progress=False)
    assert check.ok and check.problems == () and check.num_frames == frames
    assert re.fullmatch(
        rf"{frames} frames under {re.escape(str(root))} checked in \d+\.\d\d s "
        r"\([\d,]+ frames/s, 1 process\): all readable",
        check.summary(),
    )
    check.raise_if_problems()
    assert fingerprint(root) == before


def test_truncated_png_is_found(tmp_path):
    data = PRID2011(build_mini_prid(tmp_path / "prid"))
    bad = data.query[0].frames[3]
    write_noise_frame(bad)
    truncate(bad, drop=bad.stat().st_size // 2)  # PIL's verify reads every chunk
    check = check_dataset(data, workers=1, progress=False)
    assert [p.path for p in check.problems] == [bad]
    assert check.problems[0].reason.startswith("damaged PNG (")
    with pytest.raises(FrameReadError, match=re.escape(str(bad))):
        read_frame(bad)  # what training would have hit


def test_jpeg_cut_after_its_header_is_found_though_verify_passes(tmp_path):
    data = Mars(build_mini_mars(tmp_path / "mars"))
    bad = data.query[1].frames[0]
    write_noise_frame(bad)
    size = bad.stat().st_size
    truncate(bad, drop=2)  # only the end-of-image marker is gone
    assert check_frame(bad) == TRUNCATED_JPEG
    truncate(bad, drop=size // 2)  # and half of the scan
    check = check_dataset(data, workers=1, progress=False)
    assert check.problems == (FrameProblem(bad, TRUNCATED_JPEG),)
    with pytest.raises(FrameReadError, match=re.escape(str(bad))):
        read_frame(bad)


def test_check_frame_says_what_is_wrong(tmp_path):
    empty, text, folder = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"
    empty.touch()
    text.write_text("not a frame")
    folder.mkdir()
    (tmp_path / "d.png").symlink_to(tmp_path / "gone.png")
    assert check_frame(empty) == "empty file (0 bytes)"
    assert check_frame(text) == "not an image (cannot identify image file)"
    assert check_frame(folder) == "not a file (a folder)"
    assert check_frame(tmp_path / "d.png") == "missing (no such file)"


def test_check_frame_names_a_permission_error(tmp_path, monkeypatch):
    """What a chmod 000 frame gives a user other than root (root reads it regardless)."""

    def denied(path, mode):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(reidlib.data.check, "open", denied, raising=False)
    assert check_frame(tmp_path / "a.png") == "unreadable (permission denied)"


def test_report_names_each_frame_and_stops_after_the_limit(tmp_path):
    root = build_mini_prid(tmp_path / "prid")
    data = PRID2011(root)
    bad = [data.train[0].frames[0], data.query[1].frames[0], data.gallery[1].frames[2]]
    for frame in bad:
        frame.write_bytes(b"")
    check = check_dataset(data, workers=1, progress=False)
    assert check.problems == tuple(FrameProblem(f, "empty file (0 bytes)") for f in bad)
    assert check.report(limit=2).splitlines() == [
        f"3 of 21 frames under {root} cannot be read:",
        f"  {bad[0]}: empty file (0 bytes)",
        f"  {bad[1]}: empty file (0 bytes)",
        "  ... and 1 more",
    ]
    assert check.summary().endswith(": 3 cannot be read")
    with pytest.raises(FrameReadError) as err:
        check.raise_if_problems()
    assert str(err.value) == check.report() and len(check.report().splitlines()) == 4


def test_worker_processes_find_the_same_problems_in_order(tmp_path):
    data = PRID2011(build_mini_prid(tmp_path / "prid"))
    bad = [data.train[1].frames[0], data.query[0].frames[1], data.gallery[1].frames[0]]
    for frame in bad:
        truncate(frame, drop=20)
    serial = check_dataset(data, workers=1, progress=False)
    pooled = check_dataset(data, workers=2, chunk_size=4, progress=False)
    assert pooled.workers == 2 and serial.workers == 1
    assert pooled.problems == serial.problems and [p.path for p in pooled.problems] == bad
    # a single chunk is checked in this process whatever `workers` says
    assert check_dataset(data, workers=4, progress=False).workers == 1
    with pytest.raises(ValueError, match="must be at least 1"):
        check_dataset(data, workers=0)


def cli(*args: str) -> int:
    return main(["check-data", *args, "--workers", "1"])


def test_cli_exit_status_and_output(tmp_path, capsys):
    root = build_mini_ilids(tmp_path / "ilids")
    assert cli("--dataset", "ilidsvid", "--root", str(root)) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith(f"24 frames under {root} checked in ")
    bad = ILIDSVID(root).gallery[1].frames[2]
    truncate(bad, drop=20)
    assert cli("--dataset", "ilidsvid", "--root", str(root)) == 1
    captured = capsys.readouterr()
    assert captured.out.strip().endswith(": 1 cannot be read")
    error = captured.err[captured.err.index("reidlib check-data: error: ") :].splitlines()
    assert error[0] == f"reidlib check-data: error: 1 of 24 frames under {root} cannot be read:"
    assert error[1].startswith(f"  {bad}: damaged PNG (") and len(error) == 2


@pytest.mark.parametrize(
    ("dataset", "subdir", "message"),
    [("prid2011", "nowhere", "nowhere: folder missing; expected a PRID2011 root"),
     ("mars", "prid", "prid/info: folder missing; expected the MARS info files"),
     ("ilidsvid", "prid", "prid/i-LIDS-VID/sequences/cam1: folder missing")],
)  # fmt: skip
def test_cli_bad_input_is_one_line(tmp_path, capsys, dataset, subdir, message):
    build_mini_prid(tmp_path / "prid")
    assert cli("--dataset", dataset, "--root", str(tmp_path / subdir)) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert captured.err.count("\n") == 1 and message in captured.err
    assert captured.err.startswith(f"reidlib check-data: error: {tmp_path}")
