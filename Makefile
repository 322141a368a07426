# Interview Tracker: every target creates .venv and installs what it needs by itself.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SOURCES := layers functions local tests scripts bench

.PHONY: run test test-remote lint fmt unit migrate openapi bench fuzz build clean help

help:
	@echo "make run      serve the whole API on http://127.0.0.1:8000 (HOST/PORT)"
	@echo "make test     lint + type check + the whole test suite"
	@echo "make test-remote  the test suite against the Hrana (Turso protocol) test server"
	@echo "make migrate  apply database migrations to DATABASE_URL"
	@echo "make openapi  regenerate the bundled OpenAPI document (functions/auth/auth/openapi.json)"
	@echo "make fuzz     schemathesis against every operation of the OpenAPI document, long profile (FUZZ_EXAMPLES)"
	@echo "make bench    run every benchmark in bench/ (markdown tables; record them in bench/RESULTS.md)"
	@echo "make build    Lambda packages, no Docker: sam build if sam is on PATH, else build/lambda/*.zip"

$(STAMP): pyproject.toml scripts/sitepaths.py
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check '.[dev]'
	$(PY) scripts/sitepaths.py
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m local

migrate: $(STAMP)
	$(PY) -m common.db.migrate

test: lint unit

unit: $(STAMP)
	$(PY) -m pytest -q

# The whole suite with the app on the remote driver (Hrana v3 over HTTP) against the Hrana test server.
test-remote: $(STAMP)
	$(PY) -m pytest -q --db=remote

lint: $(STAMP)
	$(PY) -m ruff check $(SOURCES)
	$(PY) -m ruff format --check $(SOURCES)
	$(PY) -m mypy layers functions local

fmt: $(STAMP)
	$(PY) -m ruff format $(SOURCES)
	$(PY) -m ruff check --fix $(SOURCES)

openapi: $(STAMP)
	$(PY) -m local.openapi

# The bounded profile of the same test runs in `make test`; this one is longer and randomized.
FUZZ_EXAMPLES ?= 200
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q -p no:logging tests/integration/test_openapi_fuzz.py

# Every bench/<name>.py except helpers (_*.py), each as `python -m bench.<name>`; all of them run, and
# the target fails at the end if any missed its budget (each exits non-zero on a miss).
bench: $(STAMP)
	@failed=""; for file in bench/[!_]*.py; do \
		module=$$(basename $$file .py); \
		echo "== bench.$$module"; \
		$(PY) -m bench.$$module || failed="$$failed $$module"; \
	done; \
	if [ -n "$$failed" ]; then echo "over budget or failed:$$failed"; exit 1; fi

# The deployment packages, without Docker. With `sam` on PATH: `sam build` (template.yaml builds every
# function and the layer with the Makefile in its folder, which runs scripts/build.py). Without it, or with
# BUILD_WITH=script: scripts/build.py writes build/lambda/<function>/ and build/lambda/common-layer/ and a
# zip of each. Either way pip fetches Python 3.12 x86_64 Linux wheels from PyPI.
BUILD_WITH ?= $(if $(shell command -v sam 2>/dev/null),sam,script)

build: $(STAMP)
ifeq ($(BUILD_WITH),sam)
	sam build
else
	$(PY) scripts/build.py all --out build/lambda
endif

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
