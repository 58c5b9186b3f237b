# Two commands on a fresh clone: `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup data run test test-fast bench repro lint format ui clean dvc.yaml lock

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# uv installs the pinned set pip would, in about a minute rather than four; compiled to bytecode as pip
	@# does, or each process (under PYTHONDONTWRITEBYTECODE) would compile TensorFlow again: 27 s to import, not 9
	$(BIN)/python -m pip install -q -c requirements.lock uv
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -c requirements.lock -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)  ## create .venv with the pinned dependencies

data: setup  ## materialise the embedded default data (byte-identical to data.dvc)
	@test -f data/sp500.csv || $(BIN)/stockflow ingest --source sample:sp500

run: data  ## the main job: retrain on the default data and print a summary
	$(BIN)/stockflow run

# Three workers on two cores: with two, the cores sat idle 15% of the time while tests waited on the processes
# and servers they had started; a third worker fills that (18 -> 16 minutes, measured); a fourth adds more than it
# fills (724 s against 665 s, measured).
test: setup  ## the whole test suite, three tests at a time (about 11 minutes on 2 cores)
	$(BIN)/python -m pytest -n 3 --dist worksteal

test-fast: setup  ## the tests that train nothing and start no flow, two at a time (about 50 s)
	$(BIN)/python -m pytest -n 2 -m "not slow"

dvc.yaml: setup  ## render dvc.yaml from the stages' declarations (tasks/services/dvc_file.py)
	$(BIN)/python -m tasks.services.dvc_file

# dvc.lock names the code each stage runs, by its bytes: after a change to the code, run the pipeline again so the
# committed lock is what a fresh clone's `make run` writes (tests/tasks/test_catalog.py fails until then). On a
# throwaway MLflow store, as a fresh clone's is empty: the gate's verdict (`first model`) is in the lock too.
lock: dvc.yaml data  ## re-run the pipeline on the default data so dvc.lock describes the code as it is now
	@store=$$(mktemp -d); MLFLOW_TRACKING_URI=sqlite:///$$store/mlflow.db $(BIN)/stockflow run >/dev/null; \
	  status=$$?; rm -rf $$store; test $$status = 0 && echo "dvc.lock written: commit it" || exit $$status

$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -c requirements.lock -e '.[dev,bench]'
	touch $@

# Qlib, the peer Alpha158 is compared with: a bench-only environment of its own (its numpy and pandas are older
# than the product's), never a dependency of the product.
QLIB_VENV := .venv-qlib
$(QLIB_VENV)/.installed:
	$(BIN)/uv venv -q -p 3.11 $(QLIB_VENV)
	$(BIN)/uv pip install -q --python $(QLIB_VENV)/bin/python pyqlib==0.9.7 numpy==2.2.6 pandas==2.2.3
	touch $@

bench: data $(VENV)/.bench-installed $(QLIB_VENV)/.installed  ## timings, as ratios against references measured in the same run
	$(BIN)/python -m benchmarks

repro: data  ## the DVC pipeline (same stages as the flow)
	$(BIN)/dvc repro

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

ui: setup  ## MLflow UI on this project's store
	$(BIN)/stockflow ui

clean:  ## remove outputs and the local MLflow store (keeps .venv and data)
	rm -rf outputs metrics mlruns/mlflow.db mlruns/artifacts dvc.lock .stockflow
