# `make run` sets everything up and opens the app; `make test` sets everything up and runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.llmq-installed
# Without a CUDA GPU we pin the CPU build, so pip can never resolve the multi-GB CUDA wheels.
# With one, the registry's default (CUDA) build is what we want. Override with TORCH_SPEC=...
HAVE_CUDA := $(shell nvidia-smi -L >/dev/null 2>&1 && echo yes)
ifeq ($(HAVE_CUDA),yes)
TORCH_SPEC ?= torch==2.13.0
else
TORCH_SPEC ?= torch==2.13.0+cpu
endif

.PHONY: run test lint setup bench clean messages

run: $(STAMP)
	$(BIN)/llmq

# Lint first: a tree that does not pass `make lint` does not get tested. Two processes (xdist),
# one per core of the 2-core machine the suite is timed on; tests marked xdist_group stay together.
test: lint
	$(BIN)/python -m pytest -n 2 --dist loadgroup

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

# ruff (lint and format), mypy strict on llmq/, the import-layer contracts in pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check llmq tests benchmarks kernels answers
	$(BIN)/ruff format --check llmq tests benchmarks kernels answers
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	for f in benchmarks/*.py; do $(BIN)/python $$f; done

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis

# The interface's messages: extract every _()/N_()/ngettext() msgid from llmq/ into the template,
# merge it into the zh_CN catalogue (new msgids come in untranslated: tests/tui/test_l10n.py fails
# until they are translated), and compile the .mo that llmq reads (both are committed).
messages: $(STAMP)
	$(BIN)/pybabel extract --no-wrap --sort-by-file --project=llmq -o llmq/locale/llmq.pot llmq
	$(BIN)/pybabel update --no-wrap --no-fuzzy-matching -D llmq -i llmq/locale/llmq.pot -d llmq/locale -l zh_CN
	$(BIN)/pybabel compile -D llmq -d llmq/locale -l zh_CN
