# slimmer developer targets. `make demo` and `make test` work on a fresh Debian/Ubuntu machine.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_IMAGE ?= nginx

.PHONY: setup engine venv sensor demo test test-unit bench lint fixtures clean fuzz

setup: ## install system packages, start the engine, create the venv, build the sensors
	scripts/install-deps.sh
	scripts/start-engine.sh
	$(MAKE) venv

engine:
	scripts/start-engine.sh

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml $(wildcard sensors/src/*.c sensors/src/*.h) sensors/Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

sensor: venv
	$(MAKE) -C sensors PYTHON=$(abspath $(PY))

fixtures: setup
	$(PY) -m fixtures build

demo: setup
	$(PY) -m fixtures demo $(DEMO_IMAGE)

test: setup
	scripts/install-deps.sh --test
	$(PY) -m pytest -ra -n 2 --dist loadfile

test-unit: venv
	$(PY) -m pytest -ra -m 'not docker'

fuzz: venv ## a longer fuzzing run: random seeds, SLIMMER_FUZZ_EXAMPLES (5000) per test, failures kept
	SLIMMER_FUZZ=long $(PY) -m pytest -ra -p no:cacheprovider tests/fuzz

bench: setup ## every benchmark (figures in bench/out/), then the README's results table
	$(PY) -m bench
	$(PY) -m bench.readme

lint: venv
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) build dist slimmer/_sensors sensors/build slimmer-out .pytest_cache .ruff_cache
