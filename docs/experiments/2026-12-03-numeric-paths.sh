#!/bin/bash
# Issue 19 item 4: the demo's gain over 5 seeds x 3 numeric paths on one machine.
# Two lanes at once on a 2-core machine: the one-thread runs (one core each) beside the
# default and no-oneDNN runs. A lane that is stopped and started again resumes: a finished
# run is not trained again. The last command re-reads every run (evaluating each again,
# which changes nothing) and writes <workdir>/summary.{json,md} over all 30.
# Usage: docs/experiments/2026-12-03-numeric-paths.sh [workdir, default runs/numerics]
# (another machine's study in a folder of its own, e.g. runs/numerics_zen4).
set -e
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
WORKDIR=${1:-runs/numerics}
common=(scripts/seeds.py --gin_file=gin/demo.gin --workdir="$WORKDIR" --seeds=5)
mkdir -p "$WORKDIR"
$PY "${common[@]}" --numerics=one_thread > "$WORKDIR/lane_one_thread.log" 2>&1 &
$PY "${common[@]}" --numerics=default,no_onednn > "$WORKDIR/lane_default.log" 2>&1
wait
$PY "${common[@]}" --numerics=default,no_onednn,one_thread > "$WORKDIR/summary.log" 2>&1
