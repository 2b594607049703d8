"""How long a CPU run's threads spin while they wait, so that runs sharing the CPU each get
their share.

torch's CPU kernels run on an OpenMP pool (GNU libgomp in the PyPI wheels for Linux). When a
thread reaches a barrier, or finishes its part of a parallel region, libgomp lets it spin
300,000 times (a few milliseconds) before it sleeps. Alone on the machine that saves a wake-up;
beside another busy process it costs whole time slices: a thread spins for a peer that the other
process has descheduled, and a quick-profile step passes thousands of such waits. Measured on
this project's 2-core CPU (`benchmarks/shared_cpu.py`, docs/decisions.md §3), two quick runs
started together each took 8 to 13 times one run's wall time. Threads that sleep at once
(`OMP_WAIT_POLICY=PASSIVE`) share fairly but make a run alone 40 % slower (a wake-up for every
one of those waits); 3,000 spins (`GOMP_SPINCOUNT`, tens of microseconds) keep a run alone
within a few per cent of the default and let two runs finish in twice one run's time.

libgomp reads these settings once, when torch is loaded, so they must be in the environment
before `import torch`: reidlib's command line sets them first thing (`limit_spin_waits`),
`make venv` writes them into the notebooks' kernel, the Makefile sets them for everything it
runs, and `reidlib.training.build_run` says so in one line when a CPU run starts without them.
Nothing here imports torch.
"""

from __future__ import annotations

import os
import sys

SPIN_COUNT = "GOMP_SPINCOUNT"
SPINS = "3000"  # spins before a waiting thread sleeps; libgomp's default is 300,000
WAIT_POLICY = "OMP_WAIT_POLICY"  # a user's own choice of policy is kept


def limit_spin_waits() -> bool:
    """Caps how long OpenMP threads spin before they sleep (`SPINS`), unless the environment
    already says how they wait or torch is already loaded (too late: libgomp has read it).
    Returns whether this process's waits are set (`spin_waits_set`)."""
    if "torch" not in sys.modules and not spin_waits_set():
        os.environ[SPIN_COUNT] = SPINS
    return spin_waits_set()


def spin_waits_set() -> bool:
    """Whether this process's environment says how long OpenMP threads spin or how they wait."""
    return bool(os.environ.get(SPIN_COUNT) or os.environ.get(WAIT_POLICY))
