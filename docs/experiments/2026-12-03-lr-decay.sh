#!/bin/bash
# Issue 19 item 3: a learning-rate decay at the end of the demo's run (x0.1 for the last
# 300 of 1,500 steps, all three players), 3 seeds per method, scored on
# realistic:tuning (the choice) and realistic:validation (the report). The runs without
# it are runs/ema's raw scores (2026-12-03-weight-averaging.md): same seeds and path.
# The seeds runner resumes: a finished run is evaluated again, not retrained.
set -e
cd "$(dirname "$0")/../.."
.venv/bin/python scripts/seeds.py --gin_file=gin/demo.gin --workdir=runs/lr_decay --seeds=3 \
  --gin_bindings="adam.decay_steps = ${DECAY_STEPS:-1200}" \
  --gin_bindings="adam.decay_rate = 0.1" \
  --gin_bindings="evaluate.datasets = ['procedural_streets/realistic:tuning', 'procedural_streets/realistic:validation']"
