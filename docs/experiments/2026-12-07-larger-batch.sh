#!/bin/bash
# lsd on the demo with a larger batch on the same budget of images: BATCH triplets a step
# (gin/demo.gin: 8; default 16) for 12,000 / BATCH steps (1,500 at 8), a checkpoint every
# 1/15 of them, so that the run still has 15 checkpoints. Seeds as arguments (default 4 0 1
# 2 3), on numeric path NUMERICS (default, one_thread or no_onednn; machine.NUMERIC_PATHS);
# each run scores realistic:tuning too. Runs in runs/batch_screen/lsd_seed<k>_batch<B>[_<path>].
# Written up in 2026-12-07-larger-batch.md.
BATCH=${BATCH:-16}
source "$(dirname "$0")/numeric-path.sh"  # sets path and suffix from NUMERICS
steps=$((12000 / BATCH))
env "${path[@]}" "$(dirname "$0")/lsd-screen.sh" runs/batch_screen "_batch${BATCH}${suffix}" \
  "${*:-4 0 1 2 3}" "make_train_dataset.batch_size = $BATCH" "train.steps = $steps" \
  "train.steps_per_epoch = $((steps / 15))"
