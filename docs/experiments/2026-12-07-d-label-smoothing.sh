#!/bin/bash
# lsd on the demo with D's domain targets smoothed (build_model.d_label_smoothing), seeds
# given as arguments (default 4 0 1 2 3; the study ran 4 and 0), numeric path onednn
# (TF_ENABLE_ONEDNN_OPTS=1) as the adversarial warm-up study's runs; each run scores the
# tuning split too. E (default 0.3) is the smoothing. The baselines are that study's
# (runs/numerics_avx2). Written up in 2026-12-07-d-label-smoothing.md.
E=${E:-0.3}
TF_ENABLE_ONEDNN_OPTS=1 "$(dirname "$0")/lsd-screen.sh" runs/d_smoothing \
  "_onednn_smooth${E}" "${*:-4 0 1 2 3}" "build_model.d_label_smoothing = $E"
