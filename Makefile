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

.PHONY: setup demo test lint coverage screenshot bench docs view clean mutation mutation-score

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON_BOOT)" || { echo "Python >= 3.12 not found; install python3.12" >&2; exit 1; }
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $(STAMP)

# The headline comparison: the matched pair, 20 replications each, in seconds.
demo: $(STAMP)
	$(PY) -m sim compare scenarios/central_it.toml scenarios/micro_provider.toml --reps 20

# The kernel's own tests and the rule tests on hand-built organisations, run again as plain Python.
KERNEL_TESTS := tests/test_kernel.py tests/test_mutants_model.py tests/test_relationship.py tests/test_market.py \
	tests/test_operating.py tests/test_improvement.py tests/test_projects.py

test: $(STAMP)
	$(VENV)/bin/ruff check sim tests experiments benchmarks
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest
	# The compiled kernel's code run as plain Python (every index bounds-checked by numpy): its rule tests.
	NUMBA_DISABLE_JIT=1 $(PY) -m pytest -q -p no:cacheprovider -m "not slow" $(KERNEL_TESTS)

# The whole suite under coverage.py, branch coverage of sim/ ([tool.coverage] in pyproject.toml),
# the commands tests run as subprocesses and the pool workers included; prints the table and
# fails below 95%; then the kernel's tests as plain Python (compiled code cannot be traced), with
# branch coverage of sim/model/kernel, which must reach 95% too. PYTEST_ARGS are passed to pytest, e.g. PYTEST_ARGS="-m 'not slow'".
PYTEST_ARGS ?=
KERNEL_COVERAGE := --rcfile=/dev/null --data-file=.coverage-kernel
coverage: $(STAMP)
	$(PY) -m coverage erase
	$(PY) -m coverage run -m pytest $(PYTEST_ARGS); status=$$?; \
	$(PY) -m coverage combine --quiet && $(PY) -m coverage report || status=$$((status ? status : 1)); \
	NUMBA_DISABLE_JIT=1 $(PY) -m coverage run $(KERNEL_COVERAGE) --branch --source=sim/model/kernel \
		-m pytest -q -p no:cacheprovider -m "not slow" $(KERNEL_TESTS) || status=$$((status ? status : 1)); \
	$(PY) -m coverage report $(KERNEL_COVERAGE) --show-missing --precision=1 --fail-under=95 \
		|| status=$$((status ? status : 1)); \
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

# Mutation testing (tests/MUTATION.md; a tool to run, not a CI step): mutmut ([tool.mutmut] in
# pyproject.toml) mutates the kernel's rules, the metrics, tables and the plots' decision code and
# runs the fast oracle and rule tests against each mutant, with one worker. It works in a copy,
# .mutation/ (git-ignored), where @metric is applied after each metric's definition instead of
# as a decorator (mutmut leaves decorated functions unmutated), and keeps its results there.
# Every mutant MUTANTS selects is rerun. The per-module score is written into tests/MUTATION.md.
# make mutation MUTANTS='sim.metrics.*'  for one module; MUTATION_WORKERS=2 on an idle machine.
MUTANTS ?= sim.metrics.* sim.experiment.tables.* sim.model.kernel.flow.* sim.model.kernel.ticks.* \
	sim.model.kernel.arrivals.* sim.model.kernel.records.* \
	sim.experiment.plots.x_win_cells__mutmut_* sim.experiment.plots.x__select__mutmut_* \
	sim.experiment.plots.x__check_single__mutmut_* sim.experiment.plots.x__pool__mutmut_*
MUTATION_WORKERS ?= 1
MUTATION_DIR := .mutation
# MUTATION_SAMPLE=N runs a seeded random sample of N of the mutants MUTANTS selects in each module
# (for modules whose every mutant runs the model: hours of CPU); the score then has a 95% interval.
MUTATION_SAMPLE ?=
MUTATION_SEED ?= 0

define MUTATION_PICK
import fnmatch, random, sys, tomllib
from pathlib import Path
from mutmut.mutation.file_mutation import mutate_file_contents
patterns, size, seed = sys.argv[1].split(), int(sys.argv[2]), sys.argv[3]
for path in tomllib.loads(Path("pyproject.toml").read_text())["tool"]["mutmut"]["only_mutate"]:
    module = path.removesuffix(".py").replace("/", ".")
    names = [f"{module}.{name}" for name in mutate_file_contents(path, Path(path).read_text()).mutant_names]
    chosen = [name for name in names if any(fnmatch.fnmatch(name, p) for p in patterns)]
    print(*random.Random(f"{seed}:{module}").sample(chosen, min(size, len(chosen))))
endef
export MUTATION_PICK

define MUTATION_UNDECORATE
import re, sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
names = re.findall(r"^@metric\ndef (\w+)\(", text, flags=re.M)
text = re.sub(r"^@metric\n(?=def )", "", text, flags=re.M)
# registered in definition order, as the decorator did (METRICS is read only after import)
text += "\n\nfor _fn in (" + ", ".join(names) + ",):\n    metric(_fn)\n"
open(path, "w", encoding="utf-8").write(text)
endef
export MUTATION_UNDECORATE

define MUTATION_SCORE
import fnmatch, json, re, sys
from collections import Counter
from pathlib import Path
from mutmut.stats import status_by_exit_code
from scipy.stats import binomtest
patterns, report = sys.argv[1].split(), Path(sys.argv[2])
text = report.read_text(encoding="utf-8")
# survivors classified in the report: equivalent, or unobservable (runs only at import, before
# mutmut switches a mutant on); both are left out of the score
equivalent = {m for m, _ in re.findall(r"^\| `(sim\.[^`]+)` \| (equivalent|unobservable) \|", text, flags=re.M)}
rows, open_survivors = [], []
for meta in sorted(Path("$(MUTATION_DIR)/mutants/sim").rglob("*.py.meta")):
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    names = sorted((k for k in codes if any(fnmatch.fnmatch(k, p) for p in patterns)),
                   key=lambda k: (k.rpartition("_")[0], int(k.rpartition("_")[2])))
    if not names:
        continue
    status = {k: status_by_exit_code[codes[k]] for k in names}
    count = Counter(status.values())
    survived = [k for k in names if status[k] == "survived"]
    eq = sum(k in equivalent for k in survived)
    open_survivors += [k for k in survived if k not in equivalent]
    checked = len(names) - count["not checked"]
    score = count["killed"] + count["timeout"]
    share = f"{score / (checked - eq):.1%}" if checked - eq else "-"
    if 0 < checked < len(names):  # a sample: Wilson 95% interval of the share killed
        ci = binomtest(score, checked - eq).proportion_ci(method="wilson")
        share += f" (sample; 95% CI {ci.low:.1%} to {ci.high:.1%})"
    module = str(meta.relative_to("$(MUTATION_DIR)/mutants")).removesuffix(".meta")
    rows.append(f"| {module} | {len(names)} | {checked} | {count['killed']} | {count['timeout']} | "
                f"{len(survived)} | {eq} | {count['no tests']} | {share} |")
block = ["| module | mutants | checked | killed | timeout | survived | of which equivalent or unobservable "
         "| no tests | score: (killed + timeout) / (checked - equivalent or unobservable) |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|", *rows, "",
         f"Mutants selected (`MUTANTS`): `{' '.join(patterns)}`; a module with 0 checked has not been run.", "",
         "Survivors not shown equivalent or unobservable below (no test kills them): "
         + (", ".join(f"`{k}`" for k in open_survivors) or "none") + "."]
start, end = "<!-- mutation-score:start -->", "<!-- mutation-score:end -->"
head, _, rest = text.partition(start)
report.write_text(head + start + "\n" + "\n".join(block) + "\n" + end + rest.partition(end)[2], encoding="utf-8")
print("\n".join(block))
endef
export MUTATION_SCORE

mutation: $(STAMP)
	rm -rf $(MUTATION_DIR)/sim $(MUTATION_DIR)/tests $(MUTATION_DIR)/scenarios
	mkdir -p $(MUTATION_DIR)
	cp -r sim tests scenarios pyproject.toml $(MUTATION_DIR)/
	$(PY) -c "$$MUTATION_UNDECORATE" $(MUTATION_DIR)/sim/metrics.py
	# The kernel's rules as plain Python (mutmut leaves decorated functions unmutated; the
	# tests then run the kernel with NUMBA_DISABLE_JIT=1, as the kernel's own plain-Python step does).
	sed -i -E '/^@njit\(cache=True(, inline="always")?\)$$/d' $(MUTATION_DIR)/sim/model/kernel/flow.py \
		$(MUTATION_DIR)/sim/model/kernel/ticks.py $(MUTATION_DIR)/sim/model/kernel/arrivals.py \
		$(MUTATION_DIR)/sim/model/kernel/records.py
	cd $(MUTATION_DIR) && names="$(foreach m,$(MUTANTS),$(m))"; \
	if [ -n "$(MUTATION_SAMPLE)" ]; then names=$$(../$(PY) -c "$$MUTATION_PICK" "$$names" $(MUTATION_SAMPLE) $(MUTATION_SEED)); fi; \
	set -f; NUMBA_DISABLE_JIT=1 ../$(VENV)/bin/mutmut run --max-children $(MUTATION_WORKERS) $$names > mutmut.log 2>&1; \
	status=$$?; tail -n 3 mutmut.log; test $$status -eq 0
	$(MAKE) --no-print-directory mutation-score

# The score table in tests/MUTATION.md from the results kept in .mutation/, without running mutmut.
mutation-score: $(STAMP)
	$(PY) -c "$$MUTATION_SCORE" "$(MUTANTS)" tests/MUTATION.md

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis .coverage .coverage.*
