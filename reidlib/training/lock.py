"""One trainer per run folder: an advisory lock held for the run's life.

Notebooks 03, 04 and 05 share the base run (`runs/<dataset>-<digest>`); a reader who runs two
of them at once would otherwise get two trainers writing the same folder. The lock is
`fcntl.flock` on `<run>/.lock`: the operating system releases it when its holder exits or is
killed, so a lock left by a dead process never blocks anyone. A second trainer waits, saying
which process holds the run, then finds the finished run and reuses it. (flock is local to one
machine; on a network file system shared by several machines it does not exclude them.)
"""

from __future__ import annotations

import fcntl
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".lock"


@contextmanager
def run_lock(folder: Path) -> Iterator[None]:
    """Holds `folder`'s lock for the `with` block, waiting (with one message) while another
    process holds it."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / LOCK_NAME).open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            print(
                f"{folder}: being trained by {holder}; waiting for it to finish, then reusing "
                "the run",
                file=sys.stderr,
                flush=True,
            )
            fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        fh.truncate()
        fh.write(f"process {os.getpid()} on {socket.gethostname()}\n")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)
