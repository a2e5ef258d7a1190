"""FLOPs of a traced TensorFlow graph, counted from its ops' static shapes.

`scripts/benchmark.py` counts one training step with it; TF's profiler cross-checks it.
"""

import numpy as np
import tensorflow as tf


def _conv_flops(op):
    """2 x multiply-adds of a convolution op from its static shapes (None if unknown)."""
    def dims(tensor):
        shape = tensor.shape
        return None if shape.rank is None or None in shape.as_list() else shape.as_list()

    if op.type == "Conv2D":  # out [N, Ho, Wo, Co], kernel [Kh, Kw, Ci, Co]
        out, kernel = dims(op.outputs[0]), dims(op.inputs[1])
        return None if out is None or kernel is None else (
            2 * int(np.prod(out)) * kernel[0] * kernel[1] * kernel[2])
    if op.type == "Conv2DBackpropInput":  # (input_sizes, kernel, out_backprop)
        kernel, grad = dims(op.inputs[1]), dims(op.inputs[2])
        return None if kernel is None or grad is None else (
            2 * int(np.prod(grad)) * kernel[0] * kernel[1] * kernel[2])
    if op.type == "Conv2DBackpropFilter":  # (input, filter_sizes, out_backprop) -> kernel
        kernel, grad = dims(op.outputs[0]), dims(op.inputs[2])
        return None if kernel is None or grad is None else (
            2 * int(np.prod(grad)) * kernel[0] * kernel[1] * kernel[2])
    if op.type in ("MatMul", "BatchMatMulV2", "BatchMatMulV3", "BatchMatMul"):
        a, out = dims(op.inputs[0]), dims(op.outputs[0])
        if a is None or out is None:
            return None
        transpose_a = op.get_attr("transpose_a" if op.type == "MatMul" else "adj_x")
        inner = a[-2] if transpose_a else a[-1]
        return 2 * int(np.prod(out)) * inner
    return 0


def count_graph_flops(graph, fetches=None):
    """FLOPs of one run of `graph`, counted from its ops' static shapes.

    Counts convolutions (Conv2D, and the Conv2DBackpropInput / Conv2DBackpropFilter ops of
    the backward pass and of transposed convolutions) and matmuls as 2 x multiply-adds;
    elementwise ops, norms, reductions and the optimizer's updates are left out. The graph
    is the traced one: with `fetches` None, every op in it counts, also those whose outputs
    nothing uses (TF's gradient functions emit, e.g., the filter gradients of D's kernels
    inside G's and F's backward passes, which the runtime prunes), an upper bound of the
    work run. With `fetches`, only the ops they depend on count (`ops_needed_by`): what is
    left after that pruning. `profiler_flops` (TF's profiler, which also counts
    elementwise ops) cross-checks the unpruned count.

    Args:
      graph: a `tf.Graph`, e.g. a concrete function's.
      fetches: ops or tensors whose values the run needs (a concrete function's outputs
        and `graph.control_outputs`, its variable updates), or None for every op.

    Returns:
      (total flops, {op type: flops}, number of ops whose shapes were not static).
    """
    by_type, unknown = {}, 0
    ops = graph.get_operations() if fetches is None else ops_needed_by(fetches)
    for op in ops:
        flops = _conv_flops(op)
        if flops is None:
            unknown += 1
        elif flops:
            by_type[op.type] = by_type.get(op.type, 0) + flops
    return sum(by_type.values()), by_type, unknown


def ops_needed_by(fetches):
    """The ops `fetches` (ops or tensors) depend on through data or control inputs."""
    stack = [getattr(fetch, "op", fetch) for fetch in fetches]
    needed = {}
    while stack:
        op = stack.pop()
        if op.name in needed:
            continue
        needed[op.name] = op
        stack.extend(tensor.op for tensor in op.inputs)
        stack.extend(op.control_inputs)
    return list(needed.values())


def profiler_flops(graph):
    """The TF profiler's float_ops of `graph` (convolutions, matmuls, elementwise ops)."""
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return tf.compat.v1.profiler.profile(graph, options=options).total_float_ops
