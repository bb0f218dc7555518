# The only commands a newcomer needs: make install, make demo, make test, make lint, make bench.
VENV   ?= .venv
PY     := $(VENV)/bin/python
SIYU   := $(VENV)/bin/siyu
PYTHON ?= python3

.PHONY: install demo test lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(SIYU) db upgrade
	$(SIYU) demo --if-empty
	$(SIYU) serve --host 127.0.0.1 --port 8000

test: install
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

bench: install
	$(SIYU) bench ingest
	$(SIYU) bench console

clean:
	rm -rf $(VENV) data .pytest_cache
