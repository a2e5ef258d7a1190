# The two commands: `make demo` (the main job) and `make test` (the suite).
# `make test-fast` skips the end-to-end runs (tests marked slow).
# `make bazel-test`: the same tests as Bazel targets, offline (docs/bazel.md);
# `make bazel-quick` without the slow ones.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast clean

$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --upgrade pip
	$(VENV)/bin/pip install -e '.[test]'
	touch $(STAMP)

# After the run: its mIoU beside the range measured for gin/demo.gin (gin/demo_expected.json).
demo: $(STAMP)
	$(VENV)/bin/python -m gta_keras.main --gin_file=gin/demo.gin --workdir=runs/demo
	$(VENV)/bin/python scripts/expected_range.py --gin_file=gin/demo.gin --workdir=runs/demo

# The suite runs in two pytest processes (pytest-xdist), each taking whole files: the tiny
# tests leave a core idle much of the time (Python, graph tracing, process start-up), and
# two processes fill it. On a clean clone of the 2-core Intel Xeon (2026-12-03,
# idle) 9 min 27 s against 15 min 48 s in one process. TEST_WORKERS=0 runs it in one process.
# Files go out in conftest.py's order (end-to-end files first), not xdist's.
TEST_WORKERS ?= 2
PYTEST := $(VENV)/bin/python -m pytest -q $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder)

test: $(STAMP)
	$(PYTEST)

test-fast: $(STAMP)
	$(PYTEST) -m 'not slow'

clean:
	rm -rf runs

# Bazel 4 from the package registry if missing (third_party/bazel/install_bazel.sh), the venv
# Bazel's Python comes from, `bazel test`, then a check that every target's log shows as many
# passed tests as `pytest --collect-only` counts in its file.
.PHONY: bazel-test bazel-quick
BAZEL_FLAGS ?=

bazel-test: $(STAMP)
	third_party/bazel/install_bazel.sh
	bazel test $(BAZEL_FLAGS) //...
	$(VENV)/bin/python third_party/bazel/check_test_counts.py

bazel-quick: $(STAMP)
	third_party/bazel/install_bazel.sh
	bazel test --config=quick $(BAZEL_FLAGS) //...
	$(VENV)/bin/python third_party/bazel/check_test_counts.py --skip_tag=slow

# `make bench`: the demo's step speed, then the paper's full-width model (one JSON each;
# docs/performance.md). BENCH_SIZE is the paper mode's HxW.
.PHONY: bench
BENCH_SIZE ?= 160x320

bench: $(STAMP)
	mkdir -p runs/bench
	$(VENV)/bin/python scripts/benchmark.py --gin_file=gin/demo.gin --output=runs/bench/demo.json
	$(VENV)/bin/python scripts/benchmark.py --mode=paper --size=$(BENCH_SIZE) --output=runs/bench/paper.json
