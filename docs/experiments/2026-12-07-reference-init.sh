#!/bin/bash
# lsd on the demo with G and D initialised as in the authors' code (conv weights N(0, 0.02),
# biases U(-0.01, 0.01): `generator.init = 'normal_0.02'`, `discriminator.init =
# 'normal_0.02'`; gin/demo.gin has Keras' Glorot-uniform), seeds given as arguments
# (default 4 0 1 2 3), on numeric path NUMERICS (default, one_thread or no_onednn;
# machine.NUMERIC_PATHS); each run scores realistic:tuning too. Source-only builds no G or D,
# so it has nothing to run here. Runs in runs/init_screen/lsd_seed<k>_init002[_<path>].
# Written up in 2026-12-07-reference-init.md.
source "$(dirname "$0")/numeric-path.sh"  # sets path and suffix from NUMERICS
env "${path[@]}" "$(dirname "$0")/lsd-screen.sh" runs/init_screen "_init002${suffix}" \
  "${*:-4 0 1 2 3}" "generator.init = 'normal_0.02'" "discriminator.init = 'normal_0.02'"
