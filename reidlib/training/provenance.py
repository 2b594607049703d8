"""The code that made a run: reidlib's version and a hash of the sources that affect results.

A cached run (`runs/<dataset>-<digest>`) is keyed by its configuration; after a change to a
loss, the sampler or the evaluator, the same configuration would give other numbers. Each
checkpoint therefore records `code_version()`, and a run made by other code is trained again
instead of being reused (`Trainer.fit`). Plotting, notebook helpers, the command line and the
paper's tables do not change a run's numbers and are left out of the hash.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import metadata
from pathlib import Path

import reidlib

# Parts of reidlib whose code decides a run's numbers (relative to the package folder).
RESULT_SOURCES = (
    "choices.py",
    "config",
    "data",
    "evaluation",
    "losses",
    "network",
    "seeding.py",
    "training",
    "types.py",
)


@cache
def code_version() -> dict[str, str]:
    """`{"version": <reidlib's version>, "sources": <12-hex SHA-256 of RESULT_SOURCES>}`."""
    package = Path(reidlib.__file__).parent
    sha = hashlib.sha256()
    for part in RESULT_SOURCES:
        path = package / part
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            sha.update(file.relative_to(package).as_posix().encode() + b"\0")
            sha.update(file.read_bytes() + b"\0")
    try:
        version = metadata.version("reidlib")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {"version": version, "sources": sha.hexdigest()[:12]}
