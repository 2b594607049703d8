# reidlib: `make run` (the main job) and `make test` (lint, unit tests, notebooks).
# Both create ./venv on first use; a stamp file makes later runs skip the install.
#
#   make lab                                             # read and run the notebooks in JupyterLab
#   make run                                             # quick profile, synthetic data, CPU
#   make run SEEDS=0-4                                   # every table row over five training seeds
#   make run PROFILE=full DATA_ROOT=data/mars DEVICE=cuda  # the paper's settings on real data
#                                      # (ImageNet files in data/weights, or WEIGHTS_DIR=...)

PYTHON ?= python3
VENV := venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROFILE ?= quick
DATA_ROOT ?=
WEIGHTS_DIR ?= data/weights
SPLITS ?= 0
SEEDS ?=
DEVICE ?= auto
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
EXECUTED := build/notebooks/$(PROFILE)

# OpenMP threads spin briefly before they sleep, so that a run sharing the CPU with another (a
# second notebook, a test) gets its share (reidlib/threads.py); the notebooks' kernel has it too.
export GOMP_SPINCOUNT ?= 3000

.PHONY: run test lab lint unit notebooks data layouts stand-ins format venv clean-venv \
  run-main-lane run-side-lane nbval-main-lane nbval-side-lane

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)" \
	  --env GOMP_SPINCOUNT 3000
	touch $(STAMP)

# The synthetic datasets of the quick profile and its two stand-in backbones for ImageNet,
# pre-trained side by side, made once (kept when present). The layouts and the stand-ins are
# made at the same time: the stand-ins' own identities are generated while the layouts are,
# each on one core. Each one's output is shown when it is done.
data: $(STAMP)
	@$(MAKE) --no-print-directory -j2 --output-sync=target layouts stand-ins

layouts: $(STAMP)
	$(BIN)/python -m reidlib make-synthetic --all --root data/synthetic

stand-ins: $(STAMP)
	$(BIN)/python -m reidlib pretrain --runs-root runs

# The quick profile's notebooks run two at a time, each on one thread: one lane runs 09, which
# trains fourteen runs of its own, after 00 and 01, which train none; the other runs 02 (the base
# run, which 03-06 and 08 read back) and the rest in order. A notebook on two threads leaves a
# core idle a quarter of the time (imports, plots, single-threaded steps); two one-thread lanes
# keep both busy (docs/decisions.md §3). Every quick run then trains on one thread, whichever
# notebook trains it, so make run and make test give the same numbers. Other profiles run one
# notebook at a time on every thread.
SIDE_LANE := $(filter notebooks/00_% notebooks/01_% notebooks/09_%,$(NOTEBOOKS))
MAIN_LANE := $(filter-out $(SIDE_LANE),$(NOTEBOOKS))
NBVAL := $(BIN)/python -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider

# papermill over the notebooks $(1), in order, with progress bar option $(2); executed copies go to
# build/, never in place. Stops at the first failing notebook and names it.
define papermill_each
mkdir -p $(EXECUTED); \
for nb in $(1); do \
  name=$$(basename $$nb); start=$$(date +%s); \
  echo "== $$nb ($(PROFILE)) started"; \
  $(BIN)/papermill -k python3 --cwd notebooks $(2) $$nb $(EXECUTED)/$$name \
    -p PROFILE $(PROFILE) -p DATA_ROOT "$(DATA_ROOT)" \
    -r WEIGHTS_DIR "$(WEIGHTS_DIR)" -r SPLITS "$(SPLITS)" -p DEVICE $(DEVICE) \
    $(if $(SEEDS),-r SEEDS "$(SEEDS)") \
    || { echo "make run: $$nb failed; the executed copy with the error is $(EXECUTED)/$$name"; exit 1; }; \
  echo "== $$nb done in $$(( $$(date +%s) - start )) s"; \
done
endef

ifeq ($(PROFILE),quick)
run: $(STAMP) data
	@start=$$(date +%s); \
	OMP_NUM_THREADS=1 $(MAKE) --no-print-directory -j2 run-main-lane run-side-lane; \
	status=$$?; echo "== notebooks done in $$(( $$(date +%s) - start )) s"; exit $$status
else
run: $(STAMP)
	@$(call papermill_each,$(NOTEBOOKS),--progress-bar)
endif

run-main-lane:
	@$(call papermill_each,$(MAIN_LANE),--no-progress-bar)

run-side-lane:
	@$(call papermill_each,$(SIDE_LANE),--no-progress-bar)

# JupyterLab on notebooks/ with the project's kernel (the venv's python3, reidlib installed).
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The fast unit tests: pyproject.toml's addopts leave out those marked slow.
unit: $(STAMP)
	$(BIN)/python -m pytest

# Every notebook under nbval (quick profile, committed parameters), in make run's two lanes of
# one thread each; they write figures/quick/.
notebooks: $(STAMP) data
	@OMP_NUM_THREADS=1 $(MAKE) --no-print-directory -j2 --output-sync=target nbval-main-lane nbval-side-lane

nbval-main-lane:
	$(NBVAL) $(MAIN_LANE)

nbval-side-lane:
	$(NBVAL) $(SIDE_LANE)

# Notebooks first: tests/test_notebook_results.py then reads what they wrote. Every test, the
# slow ones (subprocesses, torchrun, notebook kernels, training runs) included.
test: lint notebooks
	REIDLIB_REQUIRE_NOTEBOOK_RESULTS=1 $(BIN)/python -m pytest -m "slow or not slow" --durations=10

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean-venv:
	rm -rf $(VENV)
