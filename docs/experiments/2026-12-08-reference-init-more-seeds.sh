#!/bin/bash
# Seeds 5-9 of the demo on the default path, for the authors'-init candidate of
# 2026-12-07-reference-init.md: lsd plain (Glorot, as gin/demo.gin), lsd with G and D
# initialised as the authors' code (N(0, 0.02)), and source-only (no G or D, so one run
# serves both); every run scores realistic:tuning (the choice) and validation (reported).
# Runs in runs/init_screen/ beside the 2026-12-07 runs. Written up in
# 2026-12-08-reference-init-more-seeds.md.
#
#   docs/experiments/2026-12-08-reference-init-more-seeds.sh init "5 6 7 8 9" &
#   docs/experiments/2026-12-08-reference-init-more-seeds.sh plain "5 6 7 8 9"
#   docs/experiments/2026-12-08-reference-init-more-seeds.sh source_only 5,6,7,8,9
cd "$(dirname "$0")/../.."  # The repository root.
export -n TF_ENABLE_ONEDNN_OPTS TF_NUM_INTRAOP_THREADS  # The default path.
screen=docs/experiments/lsd-screen.sh
case "$1" in
  init) "$screen" runs/init_screen _init002 "$2" \
          "generator.init = 'normal_0.02'" "discriminator.init = 'normal_0.02'" ;;
  plain) "$screen" runs/init_screen "" "$2" ;;
  source_only) .venv/bin/python scripts/seeds.py --gin_file=gin/demo.gin \
      --methods=source_only --seed_list="$2" --workdir=runs/init_screen \
      "--gin_bindings=train.verbose = 0" \
      "--gin_bindings=evaluate.datasets = ['procedural_streets/realistic:validation', 'procedural_streets/realistic:tuning', 'procedural_streets/synthetic:validation']" \
      > runs/init_screen/source_only_seeds_"${2//,/}".log 2>&1 ;;
  *) echo "usage: $0 init|plain SEEDS, or $0 source_only SEED_LIST" >&2; exit 2 ;;
esac
