# `make demo` and `make test` each create .venv if missing, install the project, then run.
# torch==2.13.0 is installed first: on this machine kind it is a CPU build on local disk, and the
# project's torch range accepts it, so pip does not fetch a multi-GB CUDA build.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.orlearn-installed
JOBS ?= 2

.PHONY: demo test lint install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev,ray,notebooks]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/orlearn bench quick --fresh

lint: $(STAMP)
	$(BIN)/ruff check orlearn tests benchmarks

test: $(STAMP) lint
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile -q tests notebooks --nbmake \
		--nbmake-timeout=900

clean:
	rm -rf $(VENV) results .pytest_cache .ruff_cache
