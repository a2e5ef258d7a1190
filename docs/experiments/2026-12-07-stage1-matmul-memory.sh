#!/bin/bash
# G's first layer as a transposed convolution and as one matrix product
# (generator.stage1_matmul): peak memory at 1024x512, recomputed. docs/performance.md,
# 2026-12-07, late morning.
OUT=${OUT:-runs/stage1_matmul_memory} exec "$(dirname "$0")/peak-memory-recomputed.sh" \
  generator.stage1_matmul False True
