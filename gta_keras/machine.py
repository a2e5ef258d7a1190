"""What machine a result came from: CPU model, vector ISA, cores, library versions, oneDNN.

Float rounding differs between CPUs (oneDNN and Eigen pick other kernels on AVX2 than on
AVX-512 or AMX), and the adversarial game amplifies it like a new seed does, so a score
means little without the machine it was measured on. Every eval JSON, the seeds runner's
summary and the benchmark's JSON carry `describe()`.
"""

import os
import platform

# Vector extensions worth naming, in /proc/cpuinfo's spelling, from oldest to newest.
ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16",
             "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8", "neon", "asimd", "sve")


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
      "intra_op_threads" (the TF setting; 0 means TF's default)}.
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
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
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
            f"{'on' if d['onednn'] else 'off'}")
