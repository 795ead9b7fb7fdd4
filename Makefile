# The two commands of the README, `make book` and `make test`, do all the set-up themselves:
# they create .venv when it is missing and install the pinned requirements and the package.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Jupyter starts kernels by name; with the venv first on PATH they run the venv's Python.
export PATH := $(abspath $(BIN)):$(PATH)
export MPLBACKEND := Agg
export PYDEVD_DISABLE_FILE_VALIDATION := 1

BOOK_HTML := _build/html
JB_FLAGS := --builder html -W -n --keep-going
# The cell timeout guards against a hung kernel, as in _config.yml; the budget is `make budget`'s.
PYTEST_FLAGS := --nbval-lax --nbval-current-env --nbval-cell-timeout=1200

.PHONY: help setup chromium book html test unit lint figures budget benchmark benchmark-standard clean

help:
	@echo "make book        set up, execute every chapter and build the HTML book (warnings are errors)"
	@echo "make test        set up, build the book, then ruff, unit tests, nbval and built-book checks"
	@echo "make figures     regenerate every figure of the book into figures/ (PNG and PDF)"
	@echo "make budget      run each chapter in a fresh 1-CPU kernel, as on Binder: time and memory"
	@echo "make benchmark   run the Lorenz-96 benchmark (book profile, both tracks, and its held-out"
	@echo "                 test states) and its figures into results/"
	@echo "make benchmark-standard  the standard profile into results/standard/ (under an hour)"
	@echo "make chromium    install headless Chromium and chromedriver when missing (make test does)"
	@echo "make clean       remove _build/ (keeps .venv)"

$(STAMP): requirements.txt requirements-test.txt pyproject.toml
	@test -x $(BIN)/python || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-test.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

setup: $(STAMP)

# Headless Chromium and its driver, for the checks of the book in a browser (tests/book/test_browser.py),
# from Debian's packages when they are missing.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || ( \
	  $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver)

# The execution cache keys a page on its own code cells, and Sphinx re-reads only changed pages,
# so a change to lecture_code alone would leave stale outputs and figures. When the package's
# source changes, forget both and execute every page again.
CODE_HASH = $(shell cat $$(find lecture_code -name '*.py' | sort) | sha256sum | cut -c1-16)
html: $(STAMP)
	@if [ "$$(cat _build/.code_hash 2>/dev/null)" != "$(CODE_HASH)" ]; then \
	  echo "lecture_code changed: executing every page again"; \
	  rm -rf _build/.jupyter_cache _build/.doctrees _build/jupyter_execute; fi
	$(BIN)/jupyter-book build . $(JB_FLAGS)
	@echo "$(CODE_HASH)" > _build/.code_hash

book: html
	@echo "The book is at $(abspath $(BOOK_HTML))/index.html"

lint: $(STAMP)
	$(BIN)/ruff check lecture_code tests _ext
	$(BIN)/ruff format --check lecture_code tests _ext

unit: $(STAMP)
	$(BIN)/pytest tests -m "not built_book"

# The whole suite. pytest's exit status 5 (no test collected) fails the target like any other.
test: lint html chromium
	$(BIN)/pytest $(PYTEST_FLAGS)

figures: $(STAMP)
	$(BIN)/python -m lecture_code.figures --out figures --format png,pdf

# Every chapter in a fresh kernel pinned to one CPU with one-thread pools and an empty model
# cache, as a Binder reader runs it; fails when one takes over 5 minutes or 1.5 GB.
budget: $(STAMP)
	$(BIN)/python -m tests.book.budget --threads 1

# The book profile on both tracks (results/results.json, what the book shows), the same on the
# held-out test states (results/heldout-1/), and the figures drawn from them.
benchmark: $(STAMP)
	$(BIN)/python -m lecture_code.benchmark --profile book --track all --seed 0 --out results
	$(BIN)/python -m lecture_code.benchmark --profile book --track all --seed 0 --test-seed 1 \
	  --out results/heldout-1
	$(BIN)/python -m lecture_code.figures --only ch13_crps ch13_spread_skill ch13_rank_histograms \
	  ch13_scorecard --out results --format png

# The standard profile (1000 test states, M = 50, three training seeds; under an hour on two
# cores), then its held-out confirmation on fresh test states (the trained networks come from
# the cache: about two thirds of the time).
benchmark-standard: $(STAMP)
	$(BIN)/python -m lecture_code.benchmark --profile standard --track all --seed 0 \
	  --out results/standard
	$(BIN)/python -m lecture_code.benchmark --profile standard --track all --seed 0 \
	  --test-seed 1 --out results/standard-heldout-1

clean:
	rm -rf _build
