"""The committed figures hold no absolute path: a metrics file, a table or a picture's text
names files relative to the repository, whichever machine wrote it."""

from __future__ import annotations

import csv
import json
import re
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

FIGURES = Path(__file__).resolve().parents[1] / "figures"
# a value that is a path from the root, a home or a drive, or that holds a machine's folder
ABSOLUTE = re.compile(r"^(?:/|~|[A-Za-z]:[\\/])|/(?:work|home|Users|tmp|root|mnt)/")
TEXT_CHUNKS = (b"tEXt", b"iTXt", b"zTXt")


def json_strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from json_strings(item)


def png_texts(path: Path) -> Iterator[str]:
    """The text chunks of a PNG (where matplotlib writes its metadata)."""
    data, i = path.read_bytes(), 8
    while i + 8 <= len(data):
        (length,) = struct.unpack(">I", data[i : i + 4])
        if data[i + 4 : i + 8] in TEXT_CHUNKS:
            yield data[i + 8 : i + 8 + length].decode("latin-1")
        i += 12 + length


def values(path: Path) -> Iterator[str]:
    """Every string a figures file holds: JSON values and keys, CSV cells, PNG text."""
    if path.suffix == ".json":
        yield from json_strings(json.loads(path.read_text(encoding="utf-8")))
    elif path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as f:
            for row in csv.reader(f):
                yield from row
    elif path.suffix == ".png":
        yield from png_texts(path)
    else:
        yield from path.read_text(encoding="utf-8").splitlines()


def absolute_paths(path: Path) -> list[str]:
    return [v for v in values(path) if ABSOLUTE.search(v)]


FILES = sorted(p for p in FIGURES.rglob("*") if p.is_file())


def test_there_are_figures_to_check():
    assert {p.suffix for p in FILES} >= {".json", ".csv", ".png"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(FIGURES).as_posix())
def test_no_absolute_path_in_a_committed_figure(path):
    assert absolute_paths(path) == []


@pytest.mark.parametrize(
    "text",
    ["/work/x/runs/mars-1", "runs at /home/me/runs", "C:\\runs\\mars-1", "~/data", "data /tmp/x"],
)
def test_the_scan_finds_an_absolute_path(tmp_path, text):
    (tmp_path / "metrics.json").write_text(json.dumps({"runs": [{"run_dir": text}]}))
    (tmp_path / "settings.csv").write_text(f"setting,value\ndata.root,{text}\n")
    assert absolute_paths(tmp_path / "metrics.json") == [text]
    assert absolute_paths(tmp_path / "settings.csv") == [text]
    for fine in ("runs/mars-7ea1a54d406b", "data/synthetic/mars", "B=32 (C=8, K=4)", "1/2"):
        (tmp_path / "ok.json").write_text(json.dumps({"run_dir": fine}))
        assert absolute_paths(tmp_path / "ok.json") == []
