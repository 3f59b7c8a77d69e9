# Everyday tasks. The first run creates .venv from uv.lock; nothing else needs installing.
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never

.PHONY: demo test lint fix serve

demo: $(VENV)/.synced
	$(BIN)/briefing demo

test: $(VENV)/.synced
	$(BIN)/pytest

lint: $(VENV)/.synced
	$(BIN)/ruff check briefing tests alembic benchmarks
	$(BIN)/ruff format --check briefing tests alembic benchmarks
	$(BIN)/mypy

fix: $(VENV)/.synced
	$(BIN)/ruff check --fix briefing tests alembic benchmarks
	$(BIN)/ruff format briefing tests alembic benchmarks

serve: $(VENV)/.synced
	$(BIN)/briefing serve

# uv lives in its own small virtualenv so that `uv sync` never removes it from .venv.
$(UV):
	python3 -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --locked --quiet
	touch $@
