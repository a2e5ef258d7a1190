"""Which tensors are alive when a traced step's memory peaks, from TensorFlow's profiler.

    # In a process started with TF_CPU_ALLOCATOR_USE_BFC=true (`BFC_ENVIRONMENT`):
    live = memory_profile.profile_peak(lambda: step(batch))
    live["peak_gib"]              # the most the allocator held at once during the call
    live["before_profile_gib"]    # of which, allocated before it: weights, Adam's slots
    live["live_by_part"]          # {"forward/embedder": 2.1, "backward/generator": ...} GiB
    live["live_by_op"]            # the largest ops' tensors alive at the peak, GiB

TensorFlow's CPU allocator counts nothing unless it is the BFC allocator (the one a GPU
uses), which `TF_CPU_ALLOCATOR_USE_BFC=true` selects when the process starts. Under it,
the profiler records every allocation and free as "MemoryAllocation" /
"MemoryDeallocation" events on the "/host:CPU" plane, each with its address, size, the op
it was made for ("tf_op") and the bytes in use after it ("bytes_allocated"). Replaying
them in time order up to the event with the most bytes in use gives the tensors alive at
the peak. Tensors made before profiling began and still alive (the variables, Adam's
slots, anything cached) have no event; they are the difference to the bytes in use.
"""

import collections

import tensorflow as tf
from tensorflow.tsl.profiler.protobuf import xplane_pb2

from gta_keras import profiling

BFC_ENVIRONMENT = {"TF_CPU_ALLOCATOR_USE_BFC": "true"}
_ALLOCATION = "MemoryAllocation"
_DEALLOCATION = "MemoryDeallocation"
GIB = 1024 ** 3


def allocator_peak_gib():
    """The CPU allocator's peak bytes in use so far, in GiB; None when it counts nothing.

    TensorFlow's default CPU allocator counts nothing where oneDNN is off; its BFC
    allocator (`BFC_ENVIRONMENT`) counts, and so does oneDNN's, its default where oneDNN
    is on."""
    return _allocator_gib("peak")


def allocator_current_gib():
    """The CPU allocator's bytes in use now, in GiB; None when it counts nothing (see
    `allocator_peak_gib`)."""
    return _allocator_gib("current")


def _allocator_gib(key):
    try:
        return round(tf.config.experimental.get_memory_info("CPU:0")[key] / GIB, 3)
    except ValueError:
        return None


def read_memory_events(path):
    """(time in ps, kind, stats) of every allocation and free in an XPlane file, sorted by
    time; kind is "MemoryAllocation" or "MemoryDeallocation", stats a dict of the event's
    statistics (strings resolved)."""
    space = xplane_pb2.XSpace()
    with open(path, "rb") as f:
        space.ParseFromString(f.read())
    events = []
    for plane in space.planes:
        names = plane.stat_metadata
        for line in plane.lines:
            for event in line.events:
                kind = plane.event_metadata[event.metadata_id].name
                if kind not in (_ALLOCATION, _DEALLOCATION):
                    continue
                stats = {}
                for stat in event.stats:
                    value_kind = stat.WhichOneof("value")
                    value = getattr(stat, value_kind) if value_kind else None
                    if value_kind == "ref_value":  # An interned string.
                        value = names[value].name
                    stats[names[stat.metadata_id].name] = value
                time = line.timestamp_ns * 1000 + event.offset_ps
                events.append((time, kind, stats))
    events.sort(key=lambda event: event[0])
    return events


def live_at_peak(events, top=15):
    """The tensors alive when the bytes in use were largest, grouped.

    Args:
      events: `read_memory_events`' list.
      top: how many ops to list in "live_by_op".

    Returns:
      {"peak_gib", "before_profile_gib", "live_by_part", "live_by_op",
      "live_by_shape"}: GiB, largest first; parts as `profiling.part_of` names them.
      The op of a tensor is the one it was allocated for.
    """
    if not events:
        raise ValueError("The trace holds no memory events: was the process started with "
                         "TF_CPU_ALLOCATOR_USE_BFC=true?")
    peak_index = max(range(len(events)),
                     key=lambda index: events[index][2].get("bytes_allocated", 0))
    live = {}
    for _, kind, stats in events[:peak_index + 1]:
        if kind == _ALLOCATION:
            live[stats["addr"]] = stats
        else:
            live.pop(stats["addr"], None)  # A free of a tensor from before the trace.
    peak_bytes = events[peak_index][2]["bytes_allocated"]
    by_part, by_op, by_shape = (collections.Counter() for _ in range(3))
    for stats in live.values():
        size = stats["allocation_bytes"]
        op = str(stats.get("tf_op") or "unknown")
        by_part[profiling.part_of(op)] += size
        by_op[op] += size
        by_shape[str(stats.get("shape"))] += size

    def gib(counter, limit=None):
        return {key: round(value / GIB, 3) for key, value in counter.most_common(limit)}

    return {"peak_gib": round(peak_bytes / GIB, 3),
            "before_profile_gib": round((peak_bytes - sum(by_op.values())) / GIB, 3),
            "live_by_part": gib(by_part), "live_by_op": gib(by_op, top),
            "live_by_shape": gib(by_shape, top)}


def profile_peak(fn, logdir=None, top=15):
    """Runs `fn` once under TensorFlow's profiler; `live_at_peak` of its trace.

    Args:
      fn: a callable that runs the traced step and waits for it. Call it once before,
        so that tracing is not profiled.
      logdir: where the profiler writes (a temporary folder if None).
      top: see `live_at_peak`.
    """
    return live_at_peak(read_memory_events(profiling.trace(fn, logdir)), top)
