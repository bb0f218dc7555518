# The only commands a newcomer needs: make install, make demo, make test, make lint, make bench.
# make demo installs what Siyu needs to run (requirements/runtime.lock); the others add the tests'
# and the linter's tools on top (requirements/dev.lock). make lock refreshes both from pyproject.toml.
VENV   ?= .venv
PY     := $(VENV)/bin/python
SIYU   := $(VENV)/bin/siyu
PYTHON ?= python3
PORT   ?= 8000
LOCK   := CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile --quiet --generate-hashes \
          --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links --no-emit-trusted-host

.PHONY: install demo test lint bench lock clean

# --no-compile: the libraries' tests and unused parts would be 80 MB of bytecode nobody runs;
# precompile.py then writes the bytecode of Siyu and of the libraries it imports (Python would on
# first use, but not where PYTHONDONTWRITEBYTECODE is set: then every command compiled them again).
$(VENV)/.runtime: pyproject.toml requirements/runtime.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --no-compile --require-hashes -r requirements/runtime.lock
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) requirements/check_installed.py
	$(PY) requirements/precompile.py
	touch $@

$(VENV)/.installed: $(VENV)/.runtime requirements/dev.lock
	$(PY) -m pip install --quiet --require-hashes -r requirements/dev.lock
	$(PY) requirements/check_installed.py dev
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.runtime
	$(SIYU) db upgrade
	$(SIYU) demo --if-empty --port $(PORT)
	$(SIYU) serve --host 127.0.0.1 --port $(PORT)

test: install
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check src tests benchmarks tools
	$(VENV)/bin/ruff format --check src tests benchmarks tools
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports  # the layers and doors: docs/architecture.md, [tool.importlinter]

bench: install
	$(SIYU) bench ingest
	$(SIYU) bench console

# The dev lock is resolved first (it holds everything); the runtime lock is its subset, so the two
# agree. Pins that still fit are kept: delete a lock first to move everything to the newest versions.
lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet 'pip-tools>=7.6,<8'
	$(LOCK) --extra dev -o requirements/dev.lock pyproject.toml
	$(LOCK) -c requirements/dev.lock -o requirements/runtime.lock pyproject.toml

clean:
	rm -rf $(VENV) data .pytest_cache
