#!/bin/bash
# lsd/single_pass at 320x160, F's and D's blocks recomputed, without and with G's: two
# processes of each, alternating, median of 3 steps after 1.
cd "$(dirname "$0")/../.."  # The repository root.
PYTHON=${PYTHON:-.venv/bin/python}
R=(--mode=paper --size=160x320 --configurations=lsd/single_pass --skip=pipeline,export
   --memory_size= --steps=3 --warmup=1 --gin_bindings="embedder.recompute_blocks = True"
   --gin_bindings="discriminator.recompute_blocks = True")
for i in 1 2; do
  for g in False True; do
    "$PYTHON" scripts/benchmark.py "${R[@]}" --gin_bindings="generator.recompute_blocks = $g" \
      2>/dev/null | "$PYTHON" -c "import json, sys; r = json.load(sys.stdin)
print('generator.recompute_blocks = $g', r['train_seconds_per_step'], r['train_step_times'])"
  done
done
