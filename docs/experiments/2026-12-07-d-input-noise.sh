#!/bin/bash
# lsd on the demo with instance noise on D's inputs (build_model.d_input_noise, falling
# linearly to 0 at build_model.d_input_noise_steps), seeds given as arguments (default
# 4 0 1 2 3), on the machine's default numeric path; each run scores the tuning split too.
# SIGMA (default 0.1; 0 runs the plain lsd baseline with the same evaluation) and STEPS
# (default 750, half the demo's run). Written up in 2026-12-07-d-input-noise.md.
SIGMA=${SIGMA:-0.1}
STEPS=${STEPS:-750}
env -u TF_ENABLE_ONEDNN_OPTS -u TF_NUM_INTRAOP_THREADS \
  "$(dirname "$0")/lsd-screen.sh" runs/d_input_noise "_noise${SIGMA}_${STEPS}" "${*:-4 0 1 2 3}" \
  "build_model.d_input_noise = $SIGMA" "build_model.d_input_noise_steps = $STEPS"
