# imm-engine: `make up` runs the service, `make test` runs the tests. Both install what is missing.
# `make test-containers` builds the images with podman and proves docker/compose.yaml (as root).
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
# LibreOffice's Python bridge is built for Debian's Python 3.11; a 3.11 with a shared libpython
# (pyenv's, or Debian's own) can load it.
PYTHON ?= $(shell for p in python3.11 python3 /usr/bin/python3; do \
	command -v $$p >/dev/null && $$p -c 'import sys,sysconfig; sys.exit(not (sys.version_info[:2]==(3,11) and sysconfig.get_config_var("Py_ENABLE_SHARED")))' 2>/dev/null && { command -v $$p; break; }; done)

.PHONY: up test test-containers deps install lint typecheck bench clean soak failover

up: install
	@$(BIN)/imm-engine up

test: install
	$(BIN)/ruff check imm_engine workers tests bench
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-containers: install
	tests/containers/run.sh

deps:
	@docker/install-system-deps.sh $(if $(IMM_REDIS_URL),,--with-redis)

install: deps $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: no Python 3.11 with a shared libpython found (apt-get install python3)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[all,test]'
	@rm -f $(VENV)/.installed-* && touch $@

lint: install
	$(BIN)/ruff check imm_engine workers tests bench
	$(BIN)/ruff format --check imm_engine workers tests bench

typecheck: install
	$(BIN)/mypy

bench: install
	$(BIN)/python -m bench.run $(BENCH_ARGS)

soak: install
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

failover: install
	$(BIN)/python -m bench.failover $(FAILOVER_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
