# Two commands on a fresh machine: `make test` and `make demo`.
# Each creates .venv if missing and installs what it needs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PYTEST_ARGS ?= -m "not slow" -n 2

.PHONY: test demo bench gallery test-slow clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.stamp-all: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[research,test,bench,notebooks]"
	touch $@

test: $(VENV)/.stamp-all
	$(PY) -m pytest $(PYTEST_ARGS)

test-slow: $(VENV)/.stamp-all
	$(PY) -m pytest -m slow

demo: $(VENV)/.stamp-all
	$(PY) -m research.demo

bench: $(VENV)/.stamp-all
	$(PY) -m research.benchmarks.run

gallery: $(VENV)/.stamp-all
	$(PY) scripts/random_field_gallery.py

clean:
	rm -rf $(VENV) .pytest_cache
