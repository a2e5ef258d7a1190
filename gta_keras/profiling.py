"""Where a traced step's time goes: TensorFlow's profiler, summed by op type and by part.

    profile = profiling.profile_calls(lambda: step(batch), calls=3)
    profile["by_op_type"]   # {"Conv2DBackpropFilter": 4.1, "Conv2D": 2.0, ...} seconds
    profile["by_part"]      # {"forward/discriminator": 1.3, "backward/generator": ...}

TensorFlow's profiler (`tf.profiler.experimental`) writes an XPlane protobuf; on a CPU its
"/host:CPU" plane has one line per executor thread ("tf_Compute/..."), whose events are
the graph's ops, named "<op name>:<op type>". Summing their durations counts each op once,
with its whole run time (the Eigen/oneDNN worker threads inside an op are other lines, not
counted again). Ops of one step can overlap on two cores (inter-op parallelism), so the
sum can exceed the wall time; the shares are what to read.
"""

import collections
import glob
import os
import tempfile

import tensorflow as tf
from tensorflow.tsl.profiler.protobuf import xplane_pb2

# Executor threads: their events are the graph's ops.
_OP_LINE_PREFIX = "tf_Compute"
# The tape's ops are named "gradient_tape/<forward op's scope>/...".
_BACKWARD_SCOPE = "gradient_tape"
PICOSECONDS = 1e12


def profile_calls(fn, calls=3, logdir=None):
    """Runs `fn` `calls` times under TensorFlow's profiler; op time by type and by part.

    Args:
      fn: a callable that runs the traced step and waits for it (e.g. reads its losses).
        Call it once before, so that tracing and graph optimisation are not profiled.
      calls: how many calls to profile; the seconds are per call.
      logdir: where the profiler writes (a temporary folder if None).

    Returns:
      {"by_op_type": {type: seconds per call}, "by_part": {part: seconds per call},
      "op_seconds_per_call": the sum of all op times per call}; every dict sorted by
      time, largest first.
    """
    def run():
        for _ in range(calls):
            fn()
    return summarize(read_op_events(trace(run, logdir)), calls)


def trace(fn, logdir=None):
    """Runs `fn` under TensorFlow's profiler; the path of the XPlane file it wrote.

    Args:
      fn: a callable, run once.
      logdir: where the profiler writes (a temporary folder if None).
    """
    logdir = logdir or tempfile.mkdtemp(prefix="gta_keras_profile_")
    tf.profiler.experimental.start(logdir)
    try:
        fn()
    finally:
        tf.profiler.experimental.stop()
    paths = sorted(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True),
                   key=os.path.getmtime)
    if not paths:
        raise RuntimeError(f"TensorFlow's profiler wrote no trace into {logdir}.")
    return paths[-1]


def read_op_events(path):
    """(op name, op type, seconds) of every op run on the executor threads of `path`."""
    space = xplane_pb2.XSpace()
    with open(path, "rb") as f:
        space.ParseFromString(f.read())
    events = []
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith(_OP_LINE_PREFIX):
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                # Ops are "<name>:<type>"; the executor's own events
                # ("ExecutorState::Process", ...) are bookkeeping, not ops.
                if ":" not in name or "::" in name:
                    continue
                op_name, op_type = name.rsplit(":", 1)
                events.append((op_name, op_type, event.duration_ps / PICOSECONDS))
    return events


def part_of(op_name):
    """'forward/<model>' or 'backward/<model>' from an op's name scope; 'other' else.

    The model is the first name scope (Keras names a player's ops after the player, with
    a call counter: "discriminator_3/stem_conv/..." -> "discriminator").
    """
    scopes = op_name.split("/")
    direction = "forward"
    if scopes[0] == _BACKWARD_SCOPE and len(scopes) > 1:
        direction, scopes = "backward", scopes[1:]
    if len(scopes) < 2:
        return "other"
    model = scopes[0].rstrip("0123456789").rstrip("_")
    return f"{direction}/{model}"


def summarize(events, calls):
    """Seconds per call by op type and by part (`part_of`), largest first."""
    by_type, by_part = collections.Counter(), collections.Counter()
    for op_name, op_type, seconds in events:
        by_type[op_type] += seconds / calls
        by_part[part_of(op_name)] += seconds / calls

    def rounded(counter):
        return {key: round(value, 4) for key, value in counter.most_common()}

    return {"by_op_type": rounded(by_type), "by_part": rounded(by_part),
            "op_seconds_per_call": round(sum(by_type.values()), 4)}
