"""How long CPU threads spin while they wait: set before torch loads, a user's choice kept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PROBE = """
import os, sys
{before}
from reidlib.threads import limit_spin_waits
print(limit_spin_waits(), os.environ.get("GOMP_SPINCOUNT"), os.environ.get("OMP_WAIT_POLICY"))
"""


def probe(env: dict[str, str], *, before: str = "") -> str:
    """What `limit_spin_waits` does in a fresh process with `env` (after running `before`)."""
    clean = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    code = PROBE.format(before=before)
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_spin_waits_are_capped_before_torch_loads():
    assert probe({}) == "True 3000 None"


def test_a_users_own_setting_is_kept():
    assert probe({"GOMP_SPINCOUNT": "0"}) == "True 0 None"
    assert probe({"OMP_WAIT_POLICY": "PASSIVE"}) == "True None PASSIVE"


def test_nothing_is_set_once_torch_is_loaded():
    # libgomp has read its environment by then: setting it would only pretend
    assert probe({}, before="import torch") == "False None None"


def test_the_command_line_caps_them_first(tmp_path):
    code = "import os, reidlib.cli as c; c.main(['demo', '--help'])"
    clean = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    script = tmp_path / "probe.py"
    script.write_text(
        "import atexit, os\n"
        "atexit.register(lambda: print('spin', os.environ.get('GOMP_SPINCOUNT')))\n" + code
    )
    out = subprocess.run(
        [sys.executable, str(script)],
        env={**clean, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip().splitlines()[-1] == "spin 3000"
