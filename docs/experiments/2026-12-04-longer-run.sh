#!/bin/bash
# Issue 19 item 3: a longer run, 3,000 steps instead of the demo's 1,500, 3 seeds per
# method on the default numeric path, scored on realistic:tuning (the choice) and
# realistic:validation (the report).
#
# Each run starts from the numeric-paths study's run of the same seed at its last
# checkpoint (step 1,500; docs/experiments/2026-12-03-numeric-paths.sh): a resumed run
# equals an uninterrupted one, bit for bit (tests/test_checkpoints.py,
# tests/test_resume.py), so only the second 1,500 steps are trained. Without those runs
# the runner trains all 3,000 steps, to the same result.
set -e
cd "$(dirname "$0")/../.."
mkdir -p runs/longer
for run in source_only_seed0 source_only_seed1 source_only_seed2 lsd_seed0 lsd_seed1 lsd_seed2; do
  if [ ! -e "runs/longer/$run" ] && [ -d "runs/numerics/$run/checkpoints" ]; then
    mkdir -p "runs/longer/$run"
    cp -r "runs/numerics/$run/checkpoints" "runs/longer/$run/"
  fi
done
.venv/bin/python scripts/seeds.py --gin_file=gin/demo.gin --workdir=runs/longer --seeds=3 \
  --gin_bindings="train.steps = 3000" \
  --gin_bindings="evaluate.datasets = ['procedural_streets/realistic:tuning', 'procedural_streets/realistic:validation']"
