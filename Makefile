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
PYTEST_FLAGS := --nbval-lax --nbval-current-env --nbval-cell-timeout=300

.PHONY: help setup book html test unit lint figures benchmark clean

help:
	@echo "make book        set up, execute every chapter and build the HTML book (warnings are errors)"
	@echo "make test        set up, build the book, then ruff, unit tests, nbval and built-book checks"
	@echo "make figures     regenerate every figure of the book into figures/ (PNG and PDF)"
	@echo "make benchmark   run the Lorenz-96 benchmark (book profile) into results/"
	@echo "make clean       remove _build/ (keeps .venv)"

$(STAMP): requirements.txt requirements-test.txt pyproject.toml
	@test -x $(BIN)/python || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-test.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

setup: $(STAMP)

html: $(STAMP)
	$(BIN)/jupyter-book build . $(JB_FLAGS)

book: html
	@echo "The book is at $(abspath $(BOOK_HTML))/index.html"

lint: $(STAMP)
	$(BIN)/ruff check lecture_code tests
	$(BIN)/ruff format --check lecture_code tests

unit: $(STAMP)
	$(BIN)/pytest tests -m "not built_book"

# The whole suite. pytest's exit status 5 (no test collected) fails the target like any other.
test: lint html
	$(BIN)/pytest $(PYTEST_FLAGS)

figures: $(STAMP)
	$(BIN)/python -m lecture_code.figures --out figures --format png,pdf

benchmark: $(STAMP)
	$(BIN)/python -m lecture_code.benchmark --profile book --out results

clean:
	rm -rf _build
