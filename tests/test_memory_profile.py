"""What is alive at a step's memory peak, replayed from the profiler's memory events."""

import os

import pytest
import tensorflow as tf

from gta_keras import machine
from gta_keras import memory_profile

GIB = memory_profile.GIB
BEFORE = 1 * GIB  # Held before the trace began (weights, slots): no event of their own.


def _allocation(time, addr, size, op, in_use, shape="[1]"):
    return (time, "MemoryAllocation", {"addr": addr, "allocation_bytes": size,
                                       "tf_op": op, "bytes_allocated": in_use,
                                       "shape": shape})


def _free(time, addr, size, in_use):
    return (time, "MemoryDeallocation", {"addr": addr, "allocation_bytes": size,
                                         "bytes_allocated": in_use})


def test_the_tensors_alive_at_the_largest_bytes_in_use_are_grouped():
    half = GIB // 2
    events = [
        _allocation(1, 10, half, "embedder_1/conv/Conv2D", BEFORE + half),
        _free(2, 99, GIB // 4, BEFORE + half - GIB // 4),  # A tensor from before the trace.
        _allocation(3, 11, GIB, "gradient_tape/generator_2/up/Conv2DBackpropInput",
                    BEFORE + half - GIB // 4 + GIB, shape="[1,64,64,256]"),
        _free(4, 10, half, BEFORE - GIB // 4 + GIB),
        _allocation(5, 12, GIB // 8, "embedder_1/conv2/Conv2D", BEFORE - GIB // 4 + GIB
                    + GIB // 8),
    ]
    live = memory_profile.live_at_peak(events)
    # The peak is after the third event: the two tensors of events 1 and 3 are alive.
    assert live["peak_gib"] == 2.25
    assert live["before_profile_gib"] == 0.75
    assert live["live_by_part"] == {"backward/generator": 1.0, "forward/embedder": 0.5}
    assert list(live["live_by_op"]) == ["gradient_tape/generator_2/up/Conv2DBackpropInput",
                                        "embedder_1/conv/Conv2D"]
    assert live["live_by_shape"] == {"[1,64,64,256]": 1.0, "[1]": 0.5}


def test_a_trace_without_memory_events_says_how_to_get_them():
    with pytest.raises(ValueError, match="TF_CPU_ALLOCATOR_USE_BFC=true"):
        memory_profile.live_at_peak([])


@pytest.mark.skipif(os.environ.get("TF_CPU_ALLOCATOR_USE_BFC") == "true",
                    reason="this process was started under the BFC allocator")
def test_the_default_cpu_allocator_counts_only_where_onednn_is_on():
    """TensorFlow's own CPU allocator counts nothing; where oneDNN is on (AVX-512 VNNI or
    bf16, AMX), TensorFlow allocates through oneDNN's, which counts. The benchmark's
    memory child under the BFC allocator: tests/test_benchmark.py."""
    tf.zeros([2048, 2048]).numpy()  # 16 MiB allocated in this process.
    if machine.onednn_enabled():
        assert memory_profile.allocator_peak_gib() > 0
    else:
        assert memory_profile.allocator_peak_gib() is None
