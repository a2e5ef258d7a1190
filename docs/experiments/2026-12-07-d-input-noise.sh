#!/bin/bash
# lsd on the demo with instance noise on D's inputs (build_model.d_input_noise, falling
# linearly to 0 at build_model.d_input_noise_steps), seeds given as arguments (default
# 4 0 1 2 3), on the machine's default numeric path; each run scores the tuning split too.
# SIGMA (default 0.1; 0 runs the plain lsd baseline with the same evaluation) and STEPS
# (default 750, half the demo's run). Written up in 2026-12-07-d-input-noise.md.
cd "$(dirname "$0")/../.."  # The repository root.
PYTHON=${PYTHON:-.venv/bin/python}
SIGMA=${SIGMA:-0.1}
STEPS=${STEPS:-750}
OUT=runs/d_input_noise
mkdir -p "$OUT"
for s in ${*:-4 0 1 2 3}; do
  name=lsd_seed${s}_noise${SIGMA}_${STEPS}
  env -u TF_ENABLE_ONEDNN_OPTS -u TF_NUM_INTRAOP_THREADS "$PYTHON" -m gta_keras.main \
    --workdir="$OUT/$name" --gin_file=gin/demo.gin \
    "--gin_bindings=train.seed = $s" "--gin_bindings=train.verbose = 0" \
    "--gin_bindings=build_model.method = 'lsd'" \
    "--gin_bindings=build_model.d_input_noise = $SIGMA" \
    "--gin_bindings=build_model.d_input_noise_steps = $STEPS" \
    "--gin_bindings=evaluate.datasets = ['procedural_streets/realistic:validation', 'procedural_streets/realistic:tuning', 'procedural_streets/synthetic:validation']" \
    > "$OUT/$name.log" 2>&1
  echo "seed $s done $(date -u +%H:%M:%S)"
done
