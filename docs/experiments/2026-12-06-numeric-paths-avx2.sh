#!/bin/bash
# Issue 19 item 4 on the AVX2-only AMD EPYC (Zen 3): the other numeric paths, beside the
# default path's 10 runs already in the workdir (2026-12-06 morning).
# On this CPU TensorFlow leaves oneDNN off by default (it turns it on only for CPUs with
# AVX512_VNNI, AVX512_BF16, AVX_VNNI or AMX), so no_onednn is the default path's computation
# (its first three runs were bit-identical to the default's and it was stopped), and the
# path with other kernels is onednn (TF_ENABLE_ONEDNN_OPTS=1).
# One lane per path, all at once (two on a 2-core machine). Each lane runs source_only then
# lsd for seed 0, then seed 1, ...: stopped early, a lane still leaves whole (seed, path)
# pairs. Each run is the command line scripts/seeds.py builds, in the environment it gives
# the path (machine.numerics_env). A run that finished already is resumed and only
# evaluated again.
# Usage: docs/experiments/2026-12-06-numeric-paths-avx2.sh [workdir] [seeds] [path ...]
# then:  .venv/bin/python scripts/seeds.py --gin_file=gin/demo.gin --workdir=<workdir> \
#          --seeds=<seeds> --numerics=default,one_thread,onednn
set -e
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
WORKDIR=${1:-runs/numerics_avx2}
SEEDS=${2:-5}
shift 2 || true
PATHS=${*:-one_thread onednn}
declare -A SETTING=([no_onednn]=TF_ENABLE_ONEDNN_OPTS=0 [one_thread]=TF_NUM_INTRAOP_THREADS=1
                    [onednn]=TF_ENABLE_ONEDNN_OPTS=1)
run() {  # path method seed
  local name=$2_seed$3_$1
  env -u TF_ENABLE_ONEDNN_OPTS -u TF_NUM_INTRAOP_THREADS "${SETTING[$1]}" \
    $PY -m gta_keras.main --workdir="$WORKDIR/$name" --gin_file=gin/demo.gin \
    "--gin_bindings=train.seed = $3" "--gin_bindings=train.verbose = 0" \
    "--gin_bindings=build_model.method = '$2'" > "$WORKDIR/$name.log" 2>&1
  echo "$(date -u +%T) $name done"
}
lane() {  # path
  for seed in $(seq 0 $((SEEDS - 1))); do
    run "$1" source_only "$seed"
    run "$1" lsd "$seed"
  done
}
mkdir -p "$WORKDIR"
for path in $PATHS; do
  lane "$path" &
done
wait
