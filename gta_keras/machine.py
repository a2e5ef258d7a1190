"""What machine a result came from: CPU model, vector ISA, cores, library versions, oneDNN.

Float rounding differs between CPUs (TensorFlow runs oneDNN's kernels by default only on
CPUs with AVX512_VNNI, AVX512_BF16, AVX_VNNI or AMX, Eigen's elsewhere, and each picks
other kernels for other vector units), and the adversarial game amplifies it like a new
seed does, so a score means little without the machine it was measured on. Every eval
JSON, the seeds runner's summary and the benchmark's JSON carry `describe()`.

One machine can stand in for another CPU's rounding by taking another numeric path:
`NUMERIC_PATHS` names the environments the seeds and ablation runners give a run's process
(`--numerics`), and `describe()` says which one the process had.
"""

import os
import platform

# Vector extensions worth naming, in /proc/cpuinfo's spelling, from oldest to newest.
ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16",
             "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8", "neon", "asimd", "sve")

# CPU features (/proc/cpuinfo spelling) for which TensorFlow turns its oneDNN kernels on by
# default on Linux x86 (TF >= 2.9: "CPUs with neural-network-focused hardware features").
# Without any of them, e.g. on an AVX2-only AMD EPYC (Zen 3), oneDNN is off unless
# TF_ENABLE_ONEDNN_OPTS=1, and Eigen's kernels run. tests/test_machine.py checks this rule
# against TF's own switch on the machine that runs the tests.
ONEDNN_DEFAULT_FLAGS = ("avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8",
                        "amx_bf16")

# The environment variables a numeric path controls, and each path's settings of them (a
# variable a path does not name is removed, so that "default" is TF's default and not
# whatever the caller's shell exported). Both are read by TF's C++ runtime at start-up:
# TF_ENABLE_ONEDNN_OPTS=0 turns oneDNN's kernels off (Eigen's then run) and =1 on, whatever
# the CPU, so one of no_onednn and onednn repeats the default path on any x86 CPU
# (`check_numerics` refuses that one beside "default"). TF_NUM_INTRAOP_THREADS sizes the
# intra-op thread pool. Checked on TF 2.21, 2 cores: with 1, a chain of matmuls took 0.96
# CPU-seconds per wall second against 1.88 by default (idle machine), the pool has 1 thread
# instead of 2, and two threads are runnable at once in 3-4% of samples against 88%
# (tests/test_machine.py); tf.config.threading's getter still reads 0, as it reports only
# what was set through tf.config.
NUMERIC_VARIABLES = ("TF_ENABLE_ONEDNN_OPTS", "TF_NUM_INTRAOP_THREADS")
NUMERIC_PATHS = {
    "default": {},
    "no_onednn": {"TF_ENABLE_ONEDNN_OPTS": "0"},
    "one_thread": {"TF_NUM_INTRAOP_THREADS": "1"},
    "onednn": {"TF_ENABLE_ONEDNN_OPTS": "1"},
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


def check_numerics(paths, cpu_flags=None):
    """Raises ValueError unless `paths` are known numeric paths that compute differently.

    Args:
      paths: names of numeric paths.
      cpu_flags: the CPU's feature flags; None for this machine's.

    Raises:
      ValueError: for an unknown path, a path named twice, or "default" with the oneDNN
        path that is the default's own computation on this CPU (hours of identical runs).
    """
    for path in paths:
        numerics_env(path, {})
    if len(set(paths)) != len(paths):
        raise ValueError(f"Numeric paths {list(paths)} name one path twice.")
    by_default = onednn_by_default(cpu_flags)
    if by_default is None or "default" not in paths:
        return
    repeated, other, kernels = (("onednn", "no_onednn", "Eigen's") if by_default
                                else ("no_onednn", "onednn", "oneDNN's"))
    if repeated in paths:
        features = ", ".join(flag.upper() for flag in ONEDNN_DEFAULT_FLAGS)
        raise ValueError(
            f"Numeric path {repeated!r} repeats 'default' on this CPU: TensorFlow turns "
            f"oneDNN on by default only on CPUs with any of {features}; this one has "
            f"{'one' if by_default else 'none'}. Take {other!r} instead, for {kernels} "
            "kernels.")


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
    """The intra-op thread count TF runs with (the threads inside one op); 0 means TF's
    default (one per core).

    Args:
      configured: `tf.config.threading.get_intra_op_parallelism_threads()`, which wins
        when set (non-zero).
      environ: None for this process's environment (TF_NUM_INTRAOP_THREADS).
    """
    return _threads(configured, "TF_NUM_INTRAOP_THREADS", environ)


def inter_op_threads(configured=0, environ=None):
    """The inter-op thread count TF runs with (how many ops run at once); 0 means TF's
    default (one per core). With 1, two large ops no longer hold their scratch buffers at
    once: at 1024x512 the step's live tensors peaked at 6.6 GiB instead of 7.5, its
    resident set not reliably lower, the step slower (docs/performance.md).

    Args:
      configured: `tf.config.threading.get_inter_op_parallelism_threads()`, which wins
        when set (non-zero).
      environ: None for this process's environment (TF_NUM_INTEROP_THREADS).
    """
    return _threads(configured, "TF_NUM_INTEROP_THREADS", environ)


def _threads(configured, variable, environ):
    if configured:
        return configured
    value = (os.environ if environ is None else environ).get(variable, "")
    try:
        return max(int(value), 0)
    except ValueError:
        return 0


def _cpuinfo_fields():
    """The first value of each field of /proc/cpuinfo (keys in lower case); {} where there
    is none."""
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
    except OSError:
        return {}
    fields = {}
    for line in text.splitlines():
        key, separator, value = line.partition(":")
        if separator:
            fields.setdefault(key.strip().lower(), value.strip())
    return fields


def _cpuinfo(fields=None):
    """(model name, set of flags) from /proc/cpuinfo (or its `fields`); empty where there
    is none."""
    fields = _cpuinfo_fields() if fields is None else fields
    flags = fields.get("flags") or fields.get("features") or ""
    return fields.get("model name", ""), set(flags.split())


def cpu_family_model(fields=None):
    """x86's "family/model" numbers, e.g. "25/1" (AMD Zen 3) or "26/2" (Zen 5): they tell
    CPU generations apart where a cloud host's model name does not (these say only "AMD
    EPYC"); "" where /proc/cpuinfo (or its `fields`) has none."""
    fields = _cpuinfo_fields() if fields is None else fields
    if "cpu family" not in fields or "model" not in fields:
        return ""
    return f"{fields['cpu family']}/{fields['model']}"


def onednn_by_default(cpu_flags=None):
    """Whether TensorFlow turns oneDNN on without TF_ENABLE_ONEDNN_OPTS on this CPU.

    Args:
      cpu_flags: the CPU's feature flags; None for this machine's (/proc/cpuinfo).

    Returns:
      True or False on Linux x86 (`ONEDNN_DEFAULT_FLAGS`); None elsewhere (not known here).
    """
    if platform.system() != "Linux" or platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    if cpu_flags is None:
        _, cpu_flags = _cpuinfo()
    return any(flag in cpu_flags for flag in ONEDNN_DEFAULT_FLAGS)


def onednn_on_path(path, cpu_flags=None):
    """Whether a run's process on numeric path `path` runs oneDNN's kernels, by TF's rule:
    TF_ENABLE_ONEDNN_OPTS as the path sets it, else `onednn_by_default()` (None where that
    is not known).

    Raises:
      ValueError: for an unknown path.
    """
    setting = numerics_env(path, environ={}).get("TF_ENABLE_ONEDNN_OPTS")
    if setting is not None:
        return setting != "0"
    return onednn_by_default(cpu_flags)


def _tensorflow_onednn_switch():
    """TensorFlow's own switch (IsMklEnabled, fixed at its first use in a process); None
    where its private module cannot be read. Imports TensorFlow."""
    try:
        from tensorflow.python.util import _pywrap_util_port  # pylint: disable=import-outside-toplevel
        return bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):
        return None


def onednn_enabled():
    """Whether this process's TensorFlow runs oneDNN's kernels: TF's own switch, else the
    rule it follows (TF_ENABLE_ONEDNN_OPTS if set, else `onednn_by_default()`)."""
    switch = _tensorflow_onednn_switch()
    if switch is not None:
        return switch
    setting = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    if setting is not None:
        return setting.strip().lower() not in ("0", "false")
    return bool(onednn_by_default())


def describe():
    """The machine and software as a JSON-ready dict.

    Returns:
      {"cpu_model", "cpu_family_model" (`cpu_family_model()`), "architecture", "isa"
      (the vector extensions present), "cores" (os.cpu_count()), "tensorflow", "keras",
      "numpy", "python", "onednn",
      "intra_op_threads" (tf.config's setting, else TF_NUM_INTRAOP_THREADS; 0 means TF's
      default), "inter_op_threads" (the same for TF_NUM_INTEROP_THREADS), "numerics"
      (`numeric_path()`)}.
    """
    import keras  # pylint: disable=import-outside-toplevel  (keeps import cheap)
    import numpy as np  # pylint: disable=import-outside-toplevel
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    fields = _cpuinfo_fields()  # Read once for the three entries below.
    model, flags = _cpuinfo(fields)
    return {
        "cpu_model": model or platform.processor() or "unknown",
        "cpu_family_model": cpu_family_model(fields),
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
        "inter_op_threads": inter_op_threads(
            tf.config.threading.get_inter_op_parallelism_threads()),
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
    """A short text form, e.g. for the head of a markdown table. "onednn" may be one
    state or, for runs on several numeric paths, {path: state} (`summaries.runs_machine`)."""
    d = description or describe()
    extra = " + bf16" if "avx512_bf16" in d["isa"] or "amx_bf16" in d["isa"] else ""
    isa = vector_tier(d["isa"]) + extra
    generation = (f"family/model {d['cpu_family_model']}, "
                  if d.get("cpu_family_model") else "")
    return (f"{d['cpu_model']} ({generation}{d['architecture']}, {isa}, {d['cores']} cores), "
            f"TF {d['tensorflow']}, Keras {d['keras']}, oneDNN {_onednn_text(d['onednn'])}, "
            f"numerics {d.get('numerics', 'not recorded')}")


_ONEDNN_WORDS = {True: "on", False: "off", None: "not known"}


def _onednn_text(state):
    """"on", "off", or per path: "on (default, one_thread), off (no_onednn)"; "not known"
    where the rule does not say (`onednn_by_default` off Linux x86)."""
    if not isinstance(state, dict):
        return _ONEDNN_WORDS[state]
    paths = {}
    for path, on in state.items():
        paths.setdefault(_ONEDNN_WORDS[on], []).append(path)
    return ", ".join(f"{word} ({', '.join(names)})" for word, names in paths.items())
