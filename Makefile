# Every target sets up .venv itself (with Python >= 3.12) on a fresh clone.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
EXTRAS ?= dev,sensitivity,viz

# First interpreter >= 3.12 found: python3.12/python3.13 on PATH, else pyenv's versions.
PYTHON_BOOT := $(shell for c in python3.12 python3.13 python3; do \
	$$c -c 'import sys; assert sys.version_info >= (3, 12); print(sys.executable)' 2>/dev/null && exit 0; done; \
	for p in $$(ls -d $$(pyenv root 2>/dev/null || echo $$HOME/.pyenv)/versions/3.1[2-9]* 2>/dev/null); do \
	[ -x $$p/bin/python3 ] && echo $$p/bin/python3 && exit 0; done)

.PHONY: setup demo test lint coverage screenshot bench docs view clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON_BOOT)" || { echo "Python >= 3.12 not found; install python3.12" >&2; exit 1; }
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $(STAMP)

# The headline comparison: the matched pair, 20 replications each, in about a minute.
demo: $(STAMP)
	$(PY) -m sim compare scenarios/central_it.toml scenarios/micro_provider.toml --reps 20

test: $(STAMP)
	$(VENV)/bin/ruff check sim tests experiments benchmarks
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest

# The whole suite under coverage.py, branch coverage of sim/ ([tool.coverage] in pyproject.toml),
# the commands tests run as subprocesses and the pool workers included; prints the table and
# fails below 95%. PYTEST_ARGS are passed to pytest, e.g. PYTEST_ARGS="-m 'not slow'".
PYTEST_ARGS ?=
coverage: $(STAMP)
	$(PY) -m coverage erase
	$(PY) -m coverage run -m pytest $(PYTEST_ARGS); status=$$?; \
	$(PY) -m coverage combine --quiet && $(PY) -m coverage report || status=$$((status ? status : 1)); \
	exit $$status

# The README's picture of the view (results/view/orgsim_view.png): serves the page and drives it
# in headless Chromium (Debian's chromium package).
screenshot: $(STAMP)
	$(PY) scripts/screenshot_view.py

# Regenerate the scenario reference from the schema (a test checks it is current).
docs: $(STAMP)
	$(PY) -m sim schema --markdown > docs/scenarios.md

lint: $(STAMP)
	$(VENV)/bin/ruff check sim tests experiments benchmarks
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/ruff format --check sim tests experiments benchmarks

# Benchmarks (benchmarks/README.md): figures against the Performance targets, not tests.
# make bench BENCH_ARGS=--quick  for the short version; BENCH_ARGS="--only mmc" for one.
BENCH_ARGS ?=
BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) -m benchmarks.run $(BENCH_ARGS)

# Watch a scenario run in the browser (sim/view.py): make view VIEW_ARGS="scenarios/central_it.toml --port 8766"
VIEW_ARGS ?= scenarios/micro_provider.toml

view: $(STAMP)
	$(PY) -m sim view $(VIEW_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis .coverage .coverage.*
