# Two commands for a newcomer: `make demo` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint docs fuzz live bench bench-smoke clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.demo: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[demo]"
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[demo,test,lint,docs]"
	touch $@ $(VENV)/.demo

$(VENV)/.bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[bench]"
	touch $@ $(VENV)/.demo

demo: $(VENV)/.demo  ## a guided tour (the local emulator unless LIAOBOTS_AUTH_CODE is set)
	$(BIN)/python examples/tour.py

test: $(VENV)/.dev lint  ## run every test (unit, HTTP, standard suites, docs samples, packaging) after ruff, mypy and the docs build; two pytest workers
	$(BIN)/python -m pytest -n 2 --dist loadfile

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

docs: $(VENV)/.dev  ## serve the documentation site at http://127.0.0.1:8000
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

bench: $(VENV)/.bench  ## the eleven performance figures of docs/performance.md, vs the floors and peers (~8 min); ONLY=1,3 runs those alone
	$(BIN)/python -m benchmarks $(if $(ONLY),--only $(ONLY))

bench-smoke: $(VENV)/.bench  ## the same benchmark at toy sizes (seconds; figures not meaningful)
	$(BIN)/python -m benchmarks --smoke

fuzz: $(VENV)/.dev  ## the long property-based runs: >= 10,000 hypothesis examples per property (~3 min)
	$(BIN)/python -m pytest -m long

live: $(VENV)/.dev  ## one invoke, stream, tool call and structured output against the real service (needs LIAOBOTS_AUTH_CODE)
	$(BIN)/python -m pytest tests/live -m live --force-enable-socket -rs

clean:
	rm -rf $(VENV) site .pytest_cache .mypy_cache .ruff_cache .hypothesis
