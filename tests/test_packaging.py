"""Packaging as the ecosystem expects: `pip install .` into a fresh environment gives an
importable `reidlib` and a working `reidlib` command, its runtime dependencies declared."""

from __future__ import annotations

import subprocess
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_pip_install_into_a_fresh_environment(tmp_path):
    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # the fresh environment sees this one's packages (torch is 6 GB); pip then finds every
    # declared dependency satisfied and installs reidlib itself, built from the source tree
    purelib = subprocess.check_output(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
    ).strip()
    (Path(purelib) / "outer.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", str(REPO)], capture_output=True, text=True
    )
    assert install.returncode == 0, install.stderr[-2000:]
    shown = subprocess.check_output([python, "-m", "pip", "show", "reidlib"], text=True)
    requires = next(line for line in shown.splitlines() if line.startswith("Requires:"))
    for package in ("torch", "torchvision", "numpy", "scipy", "pandas", "matplotlib", "tqdm"):
        assert package in requires, requires
    installed = subprocess.check_output(
        [python, "-c", "import reidlib, reidlib.training; print(reidlib.__file__)"],
        text=True,
        cwd=tmp_path,
    )
    assert installed.strip().startswith(purelib)  # the installed copy, not the source tree
    cli = subprocess.run(
        [env_dir / "bin" / "reidlib", "--help"], capture_output=True, text=True, cwd=tmp_path
    )
    assert cli.returncode == 0 and "check-data" in cli.stdout and "train" in cli.stdout
