#!/bin/bash
# Issue 19 item 3: a learning-rate decay at the end of the demo's run (x0.1 for the last
# 300 of 1,500 steps, all three players), 3 seeds per method, scored on
# realistic:tuning (the choice) and realistic:validation (the report). The runs without
# it are runs/ema's raw scores (2026-12-03-weight-averaging.md): same seeds and path.
set -e
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
DECAY_STEPS=${DECAY_STEPS:-1200}
for seed in ${SEEDS:-0 1 2}; do
  for method in source_only lsd; do
    w=runs/lr_decay/${method}_seed${seed}
    [ -f $w/eval/procedural_streets_realistic_tuning.json ] && continue
    mkdir -p runs/lr_decay
    start=$(date +%s)
    $PY -m gta_keras.main --gin_file=gin/demo.gin --workdir=$w \
      --gin_bindings="build_model.method = '$method'" \
      --gin_bindings="train.seed = $seed" \
      --gin_bindings="adam.decay_steps = $DECAY_STEPS" \
      --gin_bindings="adam.decay_rate = 0.1" \
      --gin_bindings="evaluate.datasets = ['procedural_streets/realistic:tuning', 'procedural_streets/realistic:validation']" \
      > $w.log 2>&1 || { echo "failed: $w (see $w.log)"; exit 1; }
    echo "$w $(( $(date +%s) - start )) s"
  done
done
