#!/bin/bash
# Memory at 1024x512 with F's, D's and G's blocks recomputed: one process under the BFC
# allocator (live tensors, what is alive at the peak), then three resident-set processes.
cd "$(dirname "$0")/../.."  # The repository root.
PYTHON=${PYTHON:-.venv/bin/python}
R=(--mode=paper --memory_child --size=512x1024 --gin_bindings="embedder.recompute_blocks = True"
   --gin_bindings="discriminator.recompute_blocks = True" --gin_bindings="generator.recompute_blocks = True")
date
TF_CPU_ALLOCATOR_USE_BFC=true "$PYTHON" scripts/benchmark.py "${R[@]}" 2>/dev/null | grep "^{"
for i in 1 2 3; do "$PYTHON" scripts/benchmark.py "${R[@]}" 2>/dev/null | grep "^{"; done
date
