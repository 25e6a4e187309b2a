# `make demo` and `make test` work on a fresh machine with python3 (>= 3.11).
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check

.PHONY: demo test check install dev bench clean anvil mutants

$(PY):
	python3 -m venv $(VENV)

install: $(PY)
	$(PIP) install -q -e .

dev: $(PY)
	$(PIP) install -q -e ".[dev]"

demo: install
	$(VENV)/bin/omg demo

# anvil (Foundry's Ethereum node) for tests/integration, from npm's platform package, which
# carries the binary itself: no postinstall script, no download at run time.
ANVIL_VERSION := 1.7.1
ANVIL := .tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil

$(ANVIL):
	npm install --no-save --no-audit --no-fund --prefix .tools @foundry-rs/anvil-linux-amd64@$(ANVIL_VERSION)

anvil: $(ANVIL)

# The whole suite, then the catalogue's own searches with bounded budgets.
test: dev anvil
	$(PY) -m pytest -n 2
	$(MAKE) check

check: dev
	$(VENV)/bin/omg check --examples 300 --time-budget 120
	$(VENV)/bin/omg check --symbolic --per-function 5

# Mutation testing of the money-relevant modules ([tool.mutmut] in pyproject.toml, results
# in docs/mutation.md): niced, two workers, resumable (finished mutants are kept in mutants/).
# MUTANTS narrows the run, e.g. `make mutants MUTANTS='ledger.fees.*'`.
MUTANTS ?=
mutants: dev
	nice -n 10 $(VENV)/bin/mutmut run --max-children 2 $(MUTANTS)
	$(VENV)/bin/mutmut results

bench: install
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .hypothesis .tools
