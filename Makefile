# The two commands: `make demo` (the main job) and `make test` (the suite).
# `make test-fast` skips the end-to-end runs (tests marked slow).
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast clean

$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --upgrade pip
	$(VENV)/bin/pip install -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/python -m gta_keras.main --gin_file=gin/demo.gin --workdir=runs/demo

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q

test-fast: $(STAMP)
	$(VENV)/bin/python -m pytest -q -m 'not slow'

clean:
	rm -rf runs
