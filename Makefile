# Two commands for a newcomer: `make demo` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint fuzz live bench bench-smoke clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.demo: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[test,lint]"
	touch $@ $(VENV)/.demo

$(VENV)/.bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[bench]"
	touch $@ $(VENV)/.demo

demo: $(VENV)/.demo  ## stream an LCEL chain's answer (the emulator unless LIAOBOTS_AUTH_CODE is set)
	$(BIN)/python examples/quickstart.py

test: $(VENV)/.dev lint  ## run every test (unit, HTTP, standard suites) after ruff and mypy
	$(BIN)/python -m pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(VENV)/.bench  ## the six performance figures of the README, vs the floors and peers (~6 min)
	$(BIN)/python -m benchmarks

bench-smoke: $(VENV)/.bench  ## the same benchmark at toy sizes (seconds; figures not meaningful)
	$(BIN)/python -m benchmarks --smoke

fuzz: $(VENV)/.dev  ## the long property-based runs: >= 10,000 hypothesis examples per property (~3 min)
	$(BIN)/python -m pytest -m long

live: $(VENV)/.dev  ## one invoke, stream, tool call and structured output against the real service (needs LIAOBOTS_AUTH_CODE)
	$(BIN)/python -m pytest tests/live -m live --force-enable-socket -rs

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
