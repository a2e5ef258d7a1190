#!/bin/bash
# lsd on the demo with F's cross-domain weight beta = BETA (gin/demo.gin: 0.3), seeds given
# as arguments (default 4 0 1 2 3), on numeric path NUMERICS (default, one_thread or
# no_onednn; machine.NUMERIC_PATHS); each run scores the tuning split too. BETA defaults
# to 0.5; BETA=0.3 runs the plain demo with the same evaluation. Runs in
# runs/beta_screen/lsd_seed<k>_beta<digits>[_<path>]. Written up in 2026-12-07-beta.md.
BETA=${BETA:-0.5}
source "$(dirname "$0")/numeric-path.sh"  # sets path and suffix from NUMERICS
env "${path[@]}" "$(dirname "$0")/lsd-screen.sh" runs/beta_screen "_beta${BETA//./}${suffix}" \
  "${*:-4 0 1 2 3}" "loss_weights.beta = $BETA"
