#!/bin/bash
# The demo with a larger batch on the same budget of images: BATCH triplets a step (gin/demo.gin:
# 8) for 12,000 / BATCH steps (1,500 at 8), a checkpoint every 1/15 of them, so that the run still
# has 15 checkpoints. METHOD lsd (default) or source_only; seeds as arguments (default 4 0 1 2
# 3); numeric path NUMERICS (default, one_thread or no_onednn; machine.NUMERIC_PATHS). Each
# run scores realistic:tuning too. Runs in runs/batch_screen/<method>_seed<k>_batch<B>[_<path>].
# Written up in 2026-12-07-larger-batch.md.
cd "$(dirname "$0")/../.."  # The repository root.
PYTHON=${PYTHON:-.venv/bin/python}
BATCH=${BATCH:-16}
METHOD=${METHOD:-lsd}
source docs/experiments/numeric-path.sh  # sets path and suffix from NUMERICS
steps=$((12000 / BATCH))
out=runs/batch_screen
mkdir -p "$out"
for s in ${*:-4 0 1 2 3}; do
  run="$out/${METHOD}_seed${s}_batch${BATCH}${suffix}"
  env "${path[@]}" "$PYTHON" -m gta_keras.main --workdir="$run" --gin_file=gin/demo.gin \
    "--gin_bindings=train.seed = $s" "--gin_bindings=train.verbose = 0" \
    "--gin_bindings=build_model.method = '$METHOD'" \
    "--gin_bindings=make_train_dataset.batch_size = $BATCH" \
    "--gin_bindings=train.steps = $steps" \
    "--gin_bindings=train.steps_per_epoch = $((steps / 15))" \
    "--gin_bindings=evaluate.datasets = ['procedural_streets/realistic:validation', 'procedural_streets/realistic:tuning', 'procedural_streets/synthetic:validation']" \
    > "$run.log" 2>&1
  echo "$METHOD seed $s batch $BATCH ($NUMERICS) done $(date -u +%H:%M:%S)"
done
