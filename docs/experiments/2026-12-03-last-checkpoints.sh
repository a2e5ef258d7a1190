#!/bin/bash
# Issue 19 item 3: the mean of the last K = 3 kept checkpoints' scores (steps 1300, 1400,
# 1500) as the reported number, against the last checkpoint's, on the weight-averaging
# study's runs (docs/experiments/2026-12-03-weight-averaging.sh; copied, not changed).
# "best" selection on a split scores every kept checkpoint and records each score in
# checkpoint_selection.json; that record is all this needs (oracle: it reads target labels,
# which is fine for a measurement, not for a method).
set -e
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
for run in runs/ema/*_seed[0-9]; do
  name=$(basename "$run"); method=${name%_seed*}; seed=${name##*_seed}
  w=runs/last_checkpoints/$name
  [ -d "$w" ] || { mkdir -p runs/last_checkpoints && cp -r "$run" "$w"; }
  for weights in raw ema; do
    for split in tuning validation; do
      out=$w/scores_${weights}_${split}.json
      [ -f "$out" ] && continue
      $PY -m gta_keras.main --gin_file=gin/demo.gin --workdir="$w" --mode=evaluate \
        --gin_bindings="build_model.method = '$method'" \
        --gin_bindings="train.seed = $seed" \
        --gin_bindings="compile_model.segmenter_ema_decay = 0.99" \
        --gin_bindings="evaluate.weights = '$weights'" \
        --gin_bindings="evaluate.datasets = ['procedural_streets/realistic:$split']" \
        --gin_bindings="save_figure.datasets = []" \
        --gin_bindings="checkpoint_selection.rule = 'best'" \
        --gin_bindings="checkpoint_selection.dataset = 'procedural_streets/realistic:$split'" \
        --gin_bindings="checkpoint_selection.oracle = True" \
        --gin_bindings="checkpoint_selection.batch_size = 50" > "$w.eval.log" 2>&1
      cp "$w/checkpoint_selection.json" "$out"
      echo "$out"
    done
  done
done
