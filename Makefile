# Two entry points, both usable on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint setup system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,data]'
	# The BSRN Payerne file ships only in pvlib's source distribution: fetch it once.
	$(BIN)/python -c 'from adapters.datasets import bsrn_payerne_path; print(bsrn_payerne_path())'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/v2c-solar demo --hours 24

# The Debian packages the tests use for real (mosquitto, chromium): apt-get when missing.
system-deps:
	bash .ci/system-deps

test: system-deps $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV)
