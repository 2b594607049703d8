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

.PHONY: run test lab lint unit notebooks data layouts stand-ins format venv clean-venv

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

# Every notebook in order with papermill; executed copies go to build/, never in place.
# Stops at the first failing notebook and names it.
run: $(STAMP) $(if $(filter quick,$(PROFILE)),data)
	@mkdir -p $(EXECUTED)
	@for nb in $(NOTEBOOKS); do \
	  name=$$(basename $$nb); start=$$(date +%s); \
	  echo "== $$nb ($(PROFILE))"; \
	  $(BIN)/papermill -k python3 --cwd notebooks --progress-bar $$nb $(EXECUTED)/$$name \
	    -p PROFILE $(PROFILE) -p DATA_ROOT "$(DATA_ROOT)" \
	    -r WEIGHTS_DIR "$(WEIGHTS_DIR)" -r SPLITS "$(SPLITS)" -p DEVICE $(DEVICE) \
	    $(if $(SEEDS),-r SEEDS "$(SEEDS)") \
	    || { echo "make run: $$nb failed; the executed copy with the error is $(EXECUTED)/$$name"; exit 1; }; \
	  echo "== $$nb done in $$(( $$(date +%s) - start )) s"; \
	done

# JupyterLab on notebooks/ with the project's kernel (the venv's python3, reidlib installed).
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The fast unit tests: pyproject.toml's addopts leave out those marked slow.
unit: $(STAMP)
	$(BIN)/python -m pytest

# Every notebook under nbval (quick profile, committed parameters); they write figures/quick/.
notebooks: $(STAMP) data
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider $(NOTEBOOKS)

# Notebooks first: tests/test_notebook_results.py then reads what they wrote. Every test, the
# slow ones (subprocesses, torchrun, notebook kernels, training runs) included.
test: lint notebooks
	REIDLIB_REQUIRE_NOTEBOOK_RESULTS=1 $(BIN)/python -m pytest -m "slow or not slow" --durations=10

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean-venv:
	rm -rf $(VENV)
