#!/bin/bash
# Peak memory of one lsd/single_pass step at 1024x512 (full widths, F's, D's and G's
# recompute options), grappler's memory optimizer on (TensorFlow's default) and off
# (compile_model's default since 2026-12-07), three processes each, alternating.
# Where oneDNN is off, put TF_CPU_ALLOCATOR_USE_BFC=true before the command for the
# tensor figures (tensor_gib_between_steps, peak_tensor_gib). docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-runs/grappler_memory}
mkdir -p "$out"
for repeat in 1 2 3; do
  for optimizer in True False; do
    .venv/bin/python scripts/benchmark.py --mode=paper --memory_child --size=512x1024 \
      --gin_bindings="embedder.recompute_blocks = True" \
      --gin_bindings="discriminator.recompute_blocks = True" \
      --gin_bindings="generator.recompute_blocks = True" \
      --gin_bindings="compile_model.grappler_memory_optimizer = $optimizer" \
      | grep '^{' > "$out/optimizer_${optimizer}_$repeat.json"
    cat "$out/optimizer_${optimizer}_$repeat.json"
  done
done
