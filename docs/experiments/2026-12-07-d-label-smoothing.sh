#!/bin/bash
# lsd on the demo with D's domain targets smoothed (build_model.d_label_smoothing), seeds
# given as arguments (default 4 0 1 2 3; the study ran 4 and 0), numeric path onednn
# (TF_ENABLE_ONEDNN_OPTS=1) as the adversarial warm-up study's runs; each run scores the
# tuning split too. E (default 0.3) is the smoothing. The baselines are that study's
# (runs/numerics_avx2). Written up in 2026-12-07-d-label-smoothing.md.
cd "$(dirname "$0")/../.."  # The repository root.
PYTHON=${PYTHON:-.venv/bin/python}
E=${E:-0.3}
mkdir -p runs/d_smoothing
for s in ${*:-4 0 1 2 3}; do
  TF_ENABLE_ONEDNN_OPTS=1 "$PYTHON" -m gta_keras.main \
    --workdir=runs/d_smoothing/lsd_seed${s}_onednn_smooth${E} --gin_file=gin/demo.gin \
    "--gin_bindings=train.seed = $s" "--gin_bindings=train.verbose = 0" \
    "--gin_bindings=build_model.method = 'lsd'" \
    "--gin_bindings=build_model.d_label_smoothing = $E" \
    "--gin_bindings=evaluate.datasets = ['procedural_streets/realistic:validation', 'procedural_streets/realistic:tuning', 'procedural_streets/synthetic:validation']" \
    > "runs/d_smoothing/lsd_seed${s}_smooth${E}.log" 2>&1
  echo "seed $s done $(date -u +%H:%M:%S)"
done
