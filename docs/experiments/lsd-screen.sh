#!/bin/bash
# One lsd run of gin/demo.gin per seed with extra gin bindings, each scoring
# realistic:tuning too: how issue 19's item-3 tries are screened (chosen on tuning,
# validation only reported). Runs in the caller's environment, so the caller sets the
# numeric path. Each run in OUT/lsd_seed<k><SUFFIX>/, its log beside it.
#
#   docs/experiments/lsd-screen.sh OUT SUFFIX "SEEDS" [BINDING ...]
#   docs/experiments/lsd-screen.sh runs/x _try "4 0" "build_model.d_input_noise = 0.1"
cd "$(dirname "$0")/../.."  # The repository root.
PYTHON=${PYTHON:-.venv/bin/python}
out=$1 suffix=$2 seeds=$3
shift 3
extra=()
for binding in "$@"; do extra+=("--gin_bindings=$binding"); done
mkdir -p "$out"
for s in $seeds; do
  "$PYTHON" -m gta_keras.main --workdir="$out/lsd_seed${s}${suffix}" --gin_file=gin/demo.gin \
    "--gin_bindings=train.seed = $s" "--gin_bindings=train.verbose = 0" \
    "--gin_bindings=build_model.method = 'lsd'" "${extra[@]}" \
    "--gin_bindings=evaluate.datasets = ['procedural_streets/realistic:validation', 'procedural_streets/realistic:tuning', 'procedural_streets/synthetic:validation']" \
    > "$out/lsd_seed${s}${suffix}.log" 2>&1
  echo "seed $s done $(date -u +%H:%M:%S)"
done
