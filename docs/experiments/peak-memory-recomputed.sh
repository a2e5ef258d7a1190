#!/bin/bash
# Peak memory of one lsd/single_pass step at 1024x512 (full widths, F's, D's and G's
# recompute options: issue 14's memory goal), one gin binding set to each of the given
# values in turn, three processes per value, alternating. Each process's JSON goes to
# $OUT/<value>_<repeat>.json (the memory child of scripts/benchmark.py: peak_rss_gib,
# peak_tensor_gib where the allocator counts, the second step's seconds).
#
#   docs/experiments/peak-memory-recomputed.sh generator.stage1_matmul False True
#
# Where oneDNN is off, put TF_CPU_ALLOCATOR_USE_BFC=true before the command for the
# tensor figures (tensor_gib_between_steps, peak_tensor_gib). docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
binding=$1
shift
out=${OUT:-runs/peak_memory_recomputed}
mkdir -p "$out"
for repeat in 1 2 3; do
  for value in "$@"; do
    .venv/bin/python scripts/benchmark.py --mode=paper --memory_child --size=512x1024 \
      --gin_bindings="embedder.recompute_blocks = True" \
      --gin_bindings="discriminator.recompute_blocks = True" \
      --gin_bindings="generator.recompute_blocks = True" \
      --gin_bindings="$binding = $value" \
      | grep '^{' > "$out/${value}_$repeat.json"
    cat "$out/${value}_$repeat.json"
  done
done
