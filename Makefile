# Two commands set everything up on a fresh machine: `make demo` and `make test`.
# Both create the environment when it is missing (uv, from pyproject.toml + uv.lock) and are idempotent.
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
STAMP := $(VENV)/.synced

.PHONY: all env demo test test-slow lint format browser bench bench-peers clean

all: test

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "uv>=0.4"

$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --compile-bytecode --python $(PYTHON)
	@touch $(STAMP)

env: $(STAMP)

demo: env
	$(VENV)/bin/python examples/demo.py

test: env
	$(VENV)/bin/python -m pytest -q

test-slow: env
	$(VENV)/bin/python -m pytest -q -m slow

lint: env
	$(VENV)/bin/ruff check src tests bench examples
	$(VENV)/bin/ruff format --check src tests bench examples

format: env
	$(VENV)/bin/ruff check --fix src tests bench examples
	$(VENV)/bin/ruff format src tests bench examples

# Debian's chromium for the report's browser test (the test skips with a reason when it is missing).
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .ruff_cache
