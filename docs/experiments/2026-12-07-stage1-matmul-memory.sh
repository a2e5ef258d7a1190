#!/bin/bash
# Peak memory of one lsd/single_pass step at 1024x512 (full widths, F's, D's and G's
# recompute options, issue 14's memory goal) with G's first layer as a transposed
# convolution and as one matrix product (`generator.stage1_matmul`), three processes
# each, alternating. docs/performance.md, 2026-12-07, late morning.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-runs/stage1_matmul_memory}
mkdir -p "$out"
for repeat in 1 2 3; do
  for matmul in False True; do
    .venv/bin/python scripts/benchmark.py --mode=paper --memory_child --size=512x1024 \
      --gin_bindings="embedder.recompute_blocks = True" \
      --gin_bindings="discriminator.recompute_blocks = True" \
      --gin_bindings="generator.recompute_blocks = True" \
      --gin_bindings="generator.stage1_matmul = $matmul" \
      | grep '^{' > "$out/stage1_matmul_${matmul}_$repeat.json"
    cat "$out/stage1_matmul_${matmul}_$repeat.json"
  done
done
