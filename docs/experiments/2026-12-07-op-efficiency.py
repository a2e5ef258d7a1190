"""GFLOP/s of every convolution and matmul op of the paper model's lsd step.

Issue 14's utilisation goal, 2026-12-07 (docs/performance.md): which ops of the traced
lsd/single_pass step at 320x160 (full widths, gin/base.gin) run far below the matrix
rate. Each op's FLOPs from its static shapes (`gta_keras.flops`), its seconds from
TensorFlow's profiler over two steps (`gta_keras.profiling`), joined on the op name;
then the "excess" of every layer: its seconds beyond what it would take at 250 GFLOP/s.
Ops of a step overlap on two cores, so one op's seconds include some waiting for the
other; read the large gaps, not the third digit.

    .venv/bin/python docs/experiments/2026-12-07-op-efficiency.py \
        [--gin_bindings="generator.stage1_matmul = False"]
"""

import collections
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [ROOT, os.path.join(ROOT, "scripts")]
os.chdir(ROOT)

from absl import flags  # pylint: disable=wrong-import-position
import benchmark  # pylint: disable=wrong-import-position
import tensorflow as tf  # pylint: disable=wrong-import-position

from gta_keras import flops  # pylint: disable=wrong-import-position
from gta_keras import machine  # pylint: disable=wrong-import-position
from gta_keras import profiling  # pylint: disable=wrong-import-position

REFERENCE_GFLOPS = 250.0  # about the step's average rate on the Zen 5 before the change
SIZE = (160, 320)


def layer_of(op_name):
    """'forward|backward/<player>/<layer>': `profiling.part_of` and the next scope."""
    scopes = op_name.split("/")
    scopes = scopes[1:] if scopes[0] == "gradient_tape" else scopes
    layer = scopes[1].rstrip("0123456789").rstrip("_") if len(scopes) > 1 else "?"
    return f"{profiling.part_of(op_name)}/{layer}"


def main():
    flags.FLAGS(sys.argv)
    print(machine.one_line())
    # pylint: disable=protected-access  (the benchmark's own paper-mode helpers, so that
    # this profiles the step the benchmark times)
    benchmark._parse_paper_gin(SIZE)
    model = benchmark._paper_model("lsd", "single_pass")
    step = benchmark._step_function(model)
    sync = benchmark._sync
    batch = tuple(tf.constant(x) for x in benchmark._random_triplets(SIZE, 1))
    needed = flops.ops_needed_by(benchmark._step_fetches(step.get_concrete_function(batch)))
    op_flops = {op.name: flops._conv_flops(op) for op in needed}
    # pylint: enable=protected-access
    op_flops = {name: count for name, count in op_flops.items() if count}
    for _ in range(3):  # warm-up
        sync(step(batch))
    calls = 2
    events = profiling.read_op_events(profiling.trace(
        lambda: [sync(step(batch)) for _ in range(calls)]))
    seconds, types = collections.Counter(), {}
    for name, op_type, duration in events:
        seconds[name] += duration / calls
        types[name] = op_type
    print(f"op seconds per step {sum(seconds.values()):.3f}, of which counted ops "
          f"{sum(s for n, s in seconds.items() if n in op_flops):.3f}")
    rows = sorted(((s, n) for n, s in seconds.items() if n in op_flops), reverse=True)
    print("\nslowest counted ops: seconds, GFLOP/s, GFLOP, type, name")
    for duration, name in rows[:25]:
        print(f"{duration:.4f} {op_flops[name] / duration / 1e9:6.1f} "
              f"{op_flops[name] / 1e9:6.2f} {types[name]:32s} {name[:90]}")
    excess = collections.Counter()
    for duration, name in rows:
        excess[layer_of(name)] += duration - op_flops[name] / (REFERENCE_GFLOPS * 1e9)
    print(f"\nseconds beyond {REFERENCE_GFLOPS:.0f} GFLOP/s, by layer "
          f"(total {sum(v for v in excess.values() if v > 0):.3f})")
    for layer, extra in excess.most_common(12):
        print(f"{extra:.3f} {layer}")


if __name__ == "__main__":
    main()
