#!/bin/bash
# Grappler's memory optimizer on (TensorFlow's default) and off (compile_model's default
# since 2026-12-07): peak memory at 1024x512, recomputed. docs/performance.md.
OUT=${OUT:-runs/grappler_memory} exec "$(dirname "$0")/peak-memory-recomputed.sh" \
  compile_model.grappler_memory_optimizer True False
