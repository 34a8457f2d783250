# Two commands set everything up on a fresh machine: `make demo` and `make test`.
# Both create the environment when it is missing (uv, from pyproject.toml + uv.lock) and are idempotent.
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
STAMP := $(VENV)/.synced

.PHONY: all env demo test test-slow lint typecheck format browser bench bench-peers clean

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
	$(VENV)/bin/python examples/loop_demo.py

test: env
	$(VENV)/bin/python -m pytest -q

test-slow: env
	$(VENV)/bin/python -m pytest -q -m slow

# Linters, the formatter's check and the type checker (mypy, configured in pyproject.toml).
lint: env
	$(VENV)/bin/ruff check src tests bench examples
	$(VENV)/bin/ruff format --check src tests bench examples
	$(MAKE) --no-print-directory typecheck

typecheck: env
	$(VENV)/bin/mypy

format: env
	$(VENV)/bin/ruff check --fix src tests bench examples
	$(VENV)/bin/ruff format src tests bench examples

# Debian's chromium for the report's browser test (the test skips with a reason when it is missing).
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

# Peers for `lamarck bench --against flaml,autogluon`, each in its own environment (AutoGluon pins its
# own pandas). Versions match ../shared/bench/anchors_public_60s.md.
PEERS := .bench-peers
bench-peers: $(UV)
	test -x $(PEERS)/flaml/bin/python || $(UV) venv -q $(PEERS)/flaml --python $(PYTHON)
	$(UV) pip install -q --python $(PEERS)/flaml/bin/python "flaml[automl]==2.7.0" pyarrow
	test -x $(PEERS)/autogluon/bin/python || $(UV) venv -q $(PEERS)/autogluon --python $(PYTHON)
	$(UV) pip install -q --python $(PEERS)/autogluon/bin/python "autogluon.tabular[lightgbm,catboost,xgboost]==1.6.3" pyarrow

# The batch comparison of issue #7 (about 45 minutes at 60 s per case and system, one at a time).
bench: env bench-peers
	$(VENV)/bin/lamarck bench --budget 60 --against histgb,flaml,autogluon --output bench/results/batch-60s-peers

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .ruff_cache .mypy_cache
