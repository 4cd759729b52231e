# Two entry points (see README): `make demo` and `make test`.
# Both create (or reuse) a virtualenv in $(VENV).
#
# Torch: TORCH_SPEC is installed before the package. On the project machines
# `torch==2.13.0` resolves to a CPU wheel on local disk. Elsewhere choose the
# build you want, e.g.
#   make demo TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
#   make demo TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cu128"
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.segocr-installed
# The real data sits in ../shared/data on the project machines; elsewhere the
# benchmark looks in $SEGOCR_DATA or ./data and falls back to embedded synthetic plates.
IWT4S_SHARED := ../shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset
DEMO_ARGS ?= $(if $(wildcard $(IWT4S_SHARED)/trainVal.csv),--dataset iwt4s --data-dir $(IWT4S_SHARED),)

.PHONY: demo test venv lint clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -e '.[train,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/segocr benchmark $(DEMO_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy src/segocr

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .hypothesis
