# `make demo` and `make test` work on a fresh machine with python3 (>= 3.11).
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check

.PHONY: demo test check install dev bench clean

$(PY):
	python3 -m venv $(VENV)

install: $(PY)
	$(PIP) install -q -e .

dev: $(PY)
	$(PIP) install -q -e ".[dev]"

demo: install
	$(VENV)/bin/omg demo

# The whole suite, then the catalogue's own searches with bounded budgets.
test: dev
	$(PY) -m pytest -n 2
	$(MAKE) check

check: dev
	$(VENV)/bin/omg check --examples 300 --time-budget 120
	$(VENV)/bin/omg check --symbolic --per-function 5

bench: install
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .hypothesis
