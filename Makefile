# Two commands do everything: `make demo` (the main job) and `make test` (the test suite).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test test-fast demo bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

test: setup
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

demo: setup
	$(PY) tools/sweep_execute.py sweep_name=demo_$$(date +%Y%m%d_%H%M%S) sweep=quick

bench: setup
	$(PY) bench/env_sps.py
	$(PY) bench/train_sps.py
	$(PY) bench/hpo.py --smoke
	$(PY) bench/sweep_overhead.py

clean:
	rm -rf $(VENV) .pytest_cache
