# Commands on a fresh machine: `make test`, `make demo`, `make objectives`.
# Each creates .venv if missing and installs what it needs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PYTEST_ARGS ?= -m "not slow" -n 2

.PHONY: test demo objectives bench gallery test-slow clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# The demo needs jaxaug and the research extras; the tests need everything.
$(VENV)/.stamp-research: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[research]"
	touch $@

$(VENV)/.stamp-all: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[research,test,bench,notebooks]"
	touch $@ $(VENV)/.stamp-research

test: $(VENV)/.stamp-all
	$(PY) -m pytest $(PYTEST_ARGS)

test-slow: $(VENV)/.stamp-all
	$(PY) -m pytest -m slow

# Writes runs/demo/ (ignored by git); results/demo/ is the reference copy.
demo: $(VENV)/.stamp-research
	$(PY) -m research.demo --out runs/demo

# Every objective on the digits: writes results/objectives/ (the committed
# reference) and its training workdirs to runs/objectives/ (ignored by git).
objectives: $(VENV)/.stamp-research
	$(PY) -m research.experiments.objectives_table --out results/objectives \
	    --workdirs runs/objectives

bench: $(VENV)/.stamp-all
	$(PY) -m research.benchmarks.run

gallery: $(VENV)/.stamp-all
	$(PY) scripts/random_field_gallery.py

clean:
	rm -rf $(VENV) .pytest_cache runs
