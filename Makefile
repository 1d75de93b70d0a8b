# Chasm: two commands on a fresh clone. `make run` starts the app; `make test` runs the suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench lint setup clean browser

$(STAMP): pyproject.toml
	@PYTHON=$$(.ci/find-python) || exit 1; \
	if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then \
		rm -rf $(VENV); echo "Creating $(VENV) with $$PYTHON"; $$PYTHON -m venv $(VENV) || exit 1; fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

run: setup
	$(VENV)/bin/chasm serve --port $(or $(PORT),8501)

lint: setup
	$(VENV)/bin/ruff check app model db seed_data devtools tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

browser:
	.ci/install-browser

test: setup lint browser
	$(PY) -m pytest -q

bench: setup
	$(PY) -m bench.run --write docs/benchmarks.md

clean:
	rm -rf $(VENV) build .pytest_cache
