#!/bin/bash
# lsd on the demo with the R1 gradient penalty on D's real images
# (build_model.d_r1_weight = GAMMA), seeds given as arguments (default 4 0 1 2 3), on the
# machine's default numeric path; each run scores the tuning split too. GAMMA defaults
# to 1; GAMMA=0 runs the plain lsd baseline with the same evaluation. Written up in
# 2026-12-07-r1-penalty.md.
GAMMA=${GAMMA:-1}
env -u TF_ENABLE_ONEDNN_OPTS -u TF_NUM_INTRAOP_THREADS \
  "$(dirname "$0")/lsd-screen.sh" runs/r1 "_r1_${GAMMA}" "${*:-4 0 1 2 3}" \
  "build_model.d_r1_weight = $GAMMA"
