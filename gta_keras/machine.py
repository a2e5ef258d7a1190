"""What machine a result came from: CPU model, vector ISA, cores, library versions, oneDNN.

Float rounding differs between CPUs (oneDNN and Eigen pick other kernels on AVX2 than on
AVX-512 or AMX), and the adversarial game amplifies it like a new seed does, so a score
means little without the machine it was measured on. Every eval JSON, the seeds runner's
summary and the benchmark's JSON carry `describe()`.

One machine can stand in for another CPU's rounding by taking another numeric path:
`NUMERIC_PATHS` names the environments the seeds and ablation runners give a run's process
(`--numerics`), and `describe()` says which one the process had.
"""

import os
import platform

# Vector extensions worth naming, in /proc/cpuinfo's spelling, from oldest to newest.
ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16",
             "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8", "neon", "asimd", "sve")

# The environment variables a numeric path controls, and each path's settings of them (a
# variable a path does not name is removed, so that "default" is TF's default and not
# whatever the caller's shell exported). Both are read by TF's C++ runtime at start-up:
# TF_ENABLE_ONEDNN_OPTS=0 turns oneDNN's kernels off (Eigen's then run); TF_NUM_INTRAOP_THREADS
# sizes the intra-op thread pool. Checked on TF 2.21, 2 cores: with 1, a chain of matmuls
# took 0.96 CPU-seconds per wall second against 1.88 by default (idle machine), the pool
# has 1 thread instead of 2, and two threads are runnable at once in 3-4% of samples
# against 88% (tests/test_machine.py); tf.config.threading's getter still reads 0, as it
# reports only what was set through tf.config.
NUMERIC_VARIABLES = ("TF_ENABLE_ONEDNN_OPTS", "TF_NUM_INTRAOP_THREADS")
NUMERIC_PATHS = {
    "default": {},
    "no_onednn": {"TF_ENABLE_ONEDNN_OPTS": "0"},
    "one_thread": {"TF_NUM_INTRAOP_THREADS": "1"},
}


def numerics_env(path, environ=None):
    """The environment of a process that is to take numeric path `path`.

    Args:
      path: a key of `NUMERIC_PATHS`.
      environ: the environment to start from; None for `os.environ`.

    Returns:
      A copy of `environ` without `NUMERIC_VARIABLES`, then with the path's settings.

    Raises:
      ValueError: for an unknown path.
    """
    if path not in NUMERIC_PATHS:
        raise ValueError(f"Unknown numeric path {path!r}; use any of "
                         f"{', '.join(NUMERIC_PATHS)}.")
    env = {key: value for key, value in (os.environ if environ is None else environ).items()
           if key not in NUMERIC_VARIABLES}
    env.update(NUMERIC_PATHS[path])
    return env


def check_numerics(paths):
    """Raises ValueError unless `paths` are known and distinct numeric paths."""
    for path in paths:
        numerics_env(path, {})
    if len(set(paths)) != len(paths):
        raise ValueError(f"Numeric paths {list(paths)} name one path twice.")


def numeric_path(environ=None):
    """The name of the numeric path `environ` (None: this process's) is on.

    Returns:
      A key of `NUMERIC_PATHS` when the `NUMERIC_VARIABLES` set are exactly that path's,
      else "custom: VAR=value, ..." naming them.
    """
    environ = os.environ if environ is None else environ
    settings = {key: environ[key] for key in NUMERIC_VARIABLES if key in environ}
    for name, path_settings in NUMERIC_PATHS.items():
        if settings == path_settings:
            return name
    return "custom: " + ", ".join(f"{key}={value}" for key, value in settings.items())


def intra_op_threads(configured=0, environ=None):
    """The intra-op thread count TF runs with; 0 means TF's default (one per core).

    Args:
      configured: `tf.config.threading.get_intra_op_parallelism_threads()`, which wins
        when set (non-zero).
      environ: None for this process's environment (TF_NUM_INTRAOP_THREADS).
    """
    if configured:
        return configured
    value = (os.environ if environ is None else environ).get("TF_NUM_INTRAOP_THREADS", "")
    try:
        return max(int(value), 0)
    except ValueError:
        return 0


def _cpuinfo():
    """(model name, set of flags) from /proc/cpuinfo; empty where there is none."""
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
    except OSError:
        return "", set()
    model, flags = "", set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "model name" and not model:
            model = value.strip()
        elif key in ("flags", "features") and not flags:
            flags = set(value.split())
    return model, flags


def onednn_enabled():
    """Whether TensorFlow's oneDNN kernels are on (TF_ENABLE_ONEDNN_OPTS; on by default
    for x86 builds of TF >= 2.9)."""
    setting = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    if setting is not None:
        return setting.strip().lower() not in ("0", "false")
    return platform.machine().lower() in ("x86_64", "amd64")


def describe():
    """The machine and software as a JSON-ready dict.

    Returns:
      {"cpu_model", "architecture", "isa" (the vector extensions present), "cores"
      (os.cpu_count()), "tensorflow", "keras", "numpy", "python", "onednn",
      "intra_op_threads" (tf.config's setting, else TF_NUM_INTRAOP_THREADS; 0 means TF's
      default), "numerics" (`numeric_path()`)}.
    """
    import keras  # pylint: disable=import-outside-toplevel  (keeps import cheap)
    import numpy as np  # pylint: disable=import-outside-toplevel
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    model, flags = _cpuinfo()
    return {
        "cpu_model": model or platform.processor() or "unknown",
        "architecture": platform.machine(),
        "isa": [flag for flag in ISA_FLAGS if flag in flags],
        "cores": os.cpu_count(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "onednn": onednn_enabled(),
        "intra_op_threads": intra_op_threads(
            tf.config.threading.get_intra_op_parallelism_threads()),
        "numerics": numeric_path(),
    }


def vector_tier(isa):
    """The widest vector family in `isa`: "AMX", "AVX-512", "AVX2", "AVX", "NEON" or "none"."""
    for flag, name in (("amx_tile", "AMX"), ("avx512f", "AVX-512"), ("avx2", "AVX2"),
                       ("avx", "AVX"), ("asimd", "NEON"), ("neon", "NEON")):
        if flag in isa:
            return name
    return "none"


def one_line(description=None):
    """A short text form, e.g. for the head of a markdown table."""
    d = description or describe()
    extra = " + bf16" if "avx512_bf16" in d["isa"] or "amx_bf16" in d["isa"] else ""
    isa = vector_tier(d["isa"]) + extra
    return (f"{d['cpu_model']} ({d['architecture']}, {isa}, {d['cores']} cores), "
            f"TF {d['tensorflow']}, Keras {d['keras']}, oneDNN "
            f"{'on' if d['onednn'] else 'off'}, numerics {d.get('numerics', 'not recorded')}")
