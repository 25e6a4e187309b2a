# `make demo` and `make test` work on a fresh machine with python3 (>= 3.11).
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check

.PHONY: demo test check install dev bench clean anvil omgjs fuzz mutants

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

# omg-js's RootChain (the plasma-contracts v1.0.4 client), its ChildChain (the watcher API's
# client) and the web3 1.x they expect, for tests/integration/test_omgjs_*.py; in their own
# prefix, so npm leaves anvil's alone.
OMGJS := .tools/omgjs/node_modules/@omisego/omg-js-childchain/package.json

$(OMGJS):
	npm install --no-save --no-audit --no-fund --prefix .tools/omgjs @omisego/omg-js-rootchain@4.1.2-1.0.4 \
		@omisego/omg-js-childchain@4.1.2-1.0.4 @omisego/omg-js-util@4.1.2-1.0.4 web3@1.10.4

omgjs: $(OMGJS)

# The whole suite, then the catalogue's own searches with bounded budgets.
test: dev anvil omgjs
	$(PY) -m pytest -n 2
	$(MAKE) check

check: dev
	$(VENV)/bin/omg check --examples 300 --time-budget 120
	$(VENV)/bin/omg check --symbolic --per-function 5

# Long fuzzing: each atheris harness for FUZZ_SECONDS (its corpus grows in .fuzz/corpus/TARGET,
# a crashing input lands in .fuzz/crashes/), then every Hypothesis harness with FUZZ_EXAMPLES.
FUZZ_SECONDS ?= 60
FUZZ_EXAMPLES ?= 1000
FUZZ_DIR := .fuzz

fuzz: dev
	@status=0; mkdir -p $(FUZZ_DIR)/crashes; for target in $$($(PY) -m tests.fuzz.run --list); do \
		echo "== $$target: $(FUZZ_SECONDS) s of atheris (log in $(FUZZ_DIR)/$$target.log)"; \
		mkdir -p $(FUZZ_DIR)/corpus/$$target; \
		if $(PY) -m tests.fuzz.run $$target $(FUZZ_DIR)/corpus/$$target -max_total_time=$(FUZZ_SECONDS) -timeout=60 \
			-print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/crashes/$$target- 2> $(FUZZ_DIR)/$$target.log; \
		then grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' $(FUZZ_DIR)/$$target.log; \
		else tail -n 40 $(FUZZ_DIR)/$$target.log; status=1; fi; \
	done; \
	echo "== Hypothesis harnesses: $(FUZZ_EXAMPLES) examples each"; \
	OMG_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -p no:xdist tests/fuzz --deselect tests/fuzz/test_atheris_runs.py || status=1; \
	exit $$status

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

# The web pages' crypto (adapters/http/pages/static/vendor): the pinned npm releases, copied
# as published, so `git diff` shows whether the committed files are still exactly those.
.PHONY: web-vendor screenshots
NOBLE_SECP := 3.2.0
NOBLE_HASHES := 2.4.0
WEB_VENDOR := adapters/http/pages/static/vendor

web-vendor:
	rm -rf .tools/web && mkdir -p .tools/web
	cd .tools/web && npm pack --silent @noble/secp256k1@$(NOBLE_SECP) @noble/hashes@$(NOBLE_HASHES) >/dev/null
	cd .tools/web && for f in *.tgz; do mkdir -p "$${f%.tgz}" && tar xzf "$$f" -C "$${f%.tgz}"; done
	cp .tools/web/noble-secp256k1-$(NOBLE_SECP)/package/index.js .tools/web/noble-secp256k1-$(NOBLE_SECP)/package/LICENSE $(WEB_VENDOR)/noble-secp256k1/
	cd .tools/web/noble-hashes-$(NOBLE_HASHES)/package && cp sha3.js sha2.js hmac.js _md.js _u64.js utils.js LICENSE $(CURDIR)/$(WEB_VENDOR)/noble-hashes/

# docs/screenshots/*.png for the README, from a small ledger served to headless chromium.
screenshots: dev
	$(PY) docs/screenshots/take.py
