#!/bin/bash
# The demo's source-only and lsd runs (default numeric path, seeds as --seed_list, default
# 0,1,2,3,4) keeping all 15 checkpoints, then each scored twice: at the checkpoint with the
# best mIoU on the source's validation split (label-free: the authors' model_best split)
# and at the last one (the paper's fixed budget). Tuning and validation of the target are
# scored each time; the item-3 choice is read on tuning. Each evaluation's JSONs are kept
# in the run's eval_best/ or eval_last/, and runs/source_best_<rule>/ holds links to them
# under the runner's folder names, for 2026-12-07-goal-table.py. Written up in
# 2026-12-07-source-selected-checkpoint.md.
cd "$(dirname "$0")/../.."  # The repository root.
PYTHON=${PYTHON:-.venv/bin/python}
SEEDS=${1:-0,1,2,3,4}
OUT=runs/source_best
SCORE="evaluate.datasets = ['procedural_streets/realistic:validation', 'procedural_streets/realistic:tuning', 'procedural_streets/synthetic:validation']"
for rule in best last; do
  env -u TF_ENABLE_ONEDNN_OPTS -u TF_NUM_INTRAOP_THREADS \
    "$PYTHON" scripts/seeds.py --gin_file=gin/demo.gin --methods=source_only,lsd \
    --seeds=5 --seed_list="$SEEDS" --workdir=$OUT \
    "--gin_bindings=train.checkpoints_to_keep = 15" \
    "--gin_bindings=checkpoint_selection.rule = '$rule'" \
    "--gin_bindings=checkpoint_selection.batch_size = 50" "--gin_bindings=$SCORE"
  for seed in ${SEEDS//,/ }; do
    for method in source_only lsd; do
      run=${method}_seed$seed
      rm -rf "$OUT/$run/eval_$rule"
      cp -r "$OUT/$run/eval" "$OUT/$run/eval_$rule"
      mkdir -p "${OUT}_$rule/$run"
      ln -sfn "$PWD/$OUT/$run/eval_$rule" "${OUT}_$rule/$run/eval"
    done
  done
  echo "== checkpoint rule: $rule"
  "$PYTHON" docs/experiments/2026-12-07-goal-table.py "${OUT}_$rule"
done
