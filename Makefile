# Two commands do everything: `make demo` (the main job) and `make test` (the test suite).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup lint format test test-fast demo bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Lint, format check, layer contracts (import-linter) and types (mypy over metta/); part of `make test`.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: setup lint
	$(PY) -m pytest -q --durations=15  # the 15 slowest tests, to keep the suite's time in view

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

demo: setup
	$(PY) tools/sweep_execute.py sweep_name=demo_$$(date +%Y%m%d_%H%M%S) sweep=quick_clip

bench: setup
	$(PY) bench/env_sps.py
	$(PY) bench/train_sps.py
	$(PY) bench/hpo.py --smoke
	$(PY) bench/sweep_overhead.py

clean:
	rm -rf $(VENV) .pytest_cache
