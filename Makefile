# `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(STAMP)
	$(BIN)/animator render presets/melt.yaml --out renders

# A worker a core: many tests start the command, one process at a time, and wait on it.
test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto

bench: $(STAMP)
	$(BIN)/python bench/feedforward.py
	$(BIN)/python bench/gatys.py
	$(BIN)/python bench/video.py
	$(BIN)/python bench/preview.py
	$(BIN)/python bench/batch.py

clean:
	rm -rf renders bench/results
