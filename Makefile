# Tern: `make test` and (later) `make demo` are all a newcomer needs.
SHELL := /bin/sh
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python

# The test suite runs against real PostgreSQL and Redis; these defaults suit a developer
# machine with both on localhost. Tests use their own database (test_tern) and Redis db 15.
export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/tern
export REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: venv test lint typecheck format lock bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	@test -x $(PY) || "$$(scripts/find-python)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	@touch $@

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

# mypy with django-stubs over the apps and the Google client ([tool.mypy] in
# pyproject.toml). Not part of lint until mail/, sync/ and gmail/ are annotated too.
typecheck: venv
	$(BIN)/mypy

test: venv
	@$(PY) scripts/check_services.py
	$(MAKE) --no-print-directory lint
	DATABASE_URL=sqlite:///:memory: $(PY) manage.py makemigrations --check --dry-run >/dev/null
	$(BIN)/pytest $(PYTEST_ARGS)

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The benchmark suite: a table on stdout, JSON under bench/results/ (docs/benchmarks.md).
bench: venv
	@$(PY) scripts/check_services.py
	$(PY) -m bench $(BENCH_ARGS)

# Recompile requirements.lock after changing dependencies in pyproject.toml.
lock: venv
	$(BIN)/pip-compile --quiet --extra dev --extra emulator --strip-extras --no-emit-index-url \
		--no-emit-find-links -o requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache staticfiles
