#!/bin/bash
# Memory at 1024x512, both recompute options, one op at a time (TF_NUM_INTEROP_THREADS=1):
# three RSS processes, then one under the BFC allocator with the live-tensor profile.
cd "$(dirname "$0")/../.."  # The repository root.
PYTHON=${PYTHON:-.venv/bin/python}
R=(--mode=paper --memory_child --size=512x1024 --gin_bindings="embedder.recompute_blocks = True" --gin_bindings="discriminator.recompute_blocks = True")
date
for i in 1 2 3; do TF_NUM_INTEROP_THREADS=1 "$PYTHON" scripts/benchmark.py "${R[@]}" 2>/dev/null | grep "^{"; done
TF_NUM_INTEROP_THREADS=1 TF_CPU_ALLOCATOR_USE_BFC=true "$PYTHON" scripts/benchmark.py "${R[@]}" 2>/dev/null | grep "^{"
date
