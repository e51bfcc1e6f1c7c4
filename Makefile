# Commands on a fresh machine: `make test`, `make demo`, `make objectives`.
# Each creates .venv if missing and installs what it needs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PYTEST_ARGS ?= -m "not slow" -n 2

.PHONY: test demo sweep objectives bench gallery test-slow clean

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

# The multi-process training tests (marker `multiprocess`) start 2 processes
# x 4 fake devices each: they run alone after the default suite, not beside
# it (the short start-up checks of test_multiprocess.py stay in the default).
test: $(VENV)/.stamp-all
	$(PY) -m pytest $(PYTEST_ARGS)
	$(PY) -m pytest -m multiprocess

test-slow: $(VENV)/.stamp-all
	$(PY) -m pytest -m slow

# Writes runs/demo/ (ignored by git); results/demo/ is the reference copy.
demo: $(VENV)/.stamp-research
	$(PY) -m research.demo --out runs/demo

# The random field strength x length scale study (about an hour on 2 CPU cores).
sweep: $(VENV)/.stamp-research
	$(PY) -m research.experiments.random_field_sweep --out runs/sweep

# Every objective on the digits: writes runs/objectives/ (ignored by git;
# results/objectives/ is the reference copy).
objectives: $(VENV)/.stamp-research
	$(PY) -m research.experiments.objectives_table --out runs/objectives

# The torchvision peer runs in a subprocess under its own venv (about 5.5 GB:
# torch's default wheel is a CUDA build; it runs on the CPU), so that torch
# never enters .venv, which `make test` shares (research/benchmarks/README.md).
TORCH_VENV := .venv-torch

$(TORCH_VENV)/.stamp: pyproject.toml
	$(PYTHON) -m venv $(TORCH_VENV)
	$(TORCH_VENV)/bin/python -m pip install -q --upgrade pip
	$(TORCH_VENV)/bin/python -m pip install -q -e ".[bench-torch]"
	touch $@

bench: $(VENV)/.stamp-all $(TORCH_VENV)/.stamp
	JAXAUG_TORCH_PYTHON=$(CURDIR)/$(TORCH_VENV)/bin/python $(PY) -m research.benchmarks.run

gallery: $(VENV)/.stamp-all
	$(PY) scripts/random_field_gallery.py

clean:
	rm -rf $(VENV) $(TORCH_VENV) .pytest_cache runs
