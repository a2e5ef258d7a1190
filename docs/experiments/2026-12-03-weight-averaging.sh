#!/bin/bash
# Issue 19 item 3: raw vs moving-average weights of the same demo runs, scored on
# realistic:tuning (the choice) and realistic:validation (the report).
set -e
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
DECAY=${DECAY:-0.99}
for seed in ${SEEDS:-0 1 2}; do
  for method in source_only lsd; do
    w=runs/ema/${method}_seed${seed}
    [ -f $w/eval_raw/procedural_streets_realistic_tuning.json ] && continue
    common=(--gin_file=gin/demo.gin --workdir=$w
            --gin_bindings="build_model.method = '$method'"
            --gin_bindings="train.seed = $seed"
            --gin_bindings="compile_model.segmenter_ema_decay = $DECAY"
            --gin_bindings="evaluate.datasets = ['procedural_streets/realistic:tuning', 'procedural_streets/realistic:validation']")
    start=$(date +%s)
    $PY -m gta_keras.main "${common[@]}" --mode=train > $w.train.log 2>&1 || { echo "train failed $w"; exit 1; }
    echo "$w train $(( $(date +%s) - start )) s"
    for weights in ema raw; do
      $PY -m gta_keras.main "${common[@]}" --mode=evaluate --gin_bindings="evaluate.weights = '$weights'" > $w.eval_$weights.log 2>&1
      rm -rf $w/eval_$weights && cp -r $w/eval $w/eval_$weights
    done
  done
done
