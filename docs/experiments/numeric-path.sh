# Sourced by the study scripts (not run): from NUMERICS (default, one_thread or no_onednn;
# gta_keras/machine.py, NUMERIC_PATHS; unset means default) sets `path`, the `env`
# arguments of a run on that path, and `suffix`, its run folders' suffix ("" on default).
NUMERICS=${NUMERICS:-default}
case "$NUMERICS" in
  default) path=(-u TF_ENABLE_ONEDNN_OPTS -u TF_NUM_INTRAOP_THREADS) suffix="" ;;
  one_thread) path=(-u TF_ENABLE_ONEDNN_OPTS TF_NUM_INTRAOP_THREADS=1) suffix="_one_thread" ;;
  no_onednn) path=(-u TF_NUM_INTRAOP_THREADS TF_ENABLE_ONEDNN_OPTS=0) suffix="_no_onednn" ;;
  *) echo "NUMERICS=$NUMERICS: use default, one_thread or no_onednn" >&2; exit 2 ;;
esac
