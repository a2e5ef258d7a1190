"""Which of TensorFlow's graph rewrites (grappler) run on the traced training step.

Grappler's memory optimizer rewrites a sum of three or more large tensors (an `AddN`, as
the gradient tape makes for a tensor used several times) into an in-place accumulation
when its static estimate of the graph's peak exceeds 80% of the device's memory: a
temporary variable, set to zeros and added to as each input arrives. On the paper's
model at 1024x512 that estimate is exceeded on a 24 GiB machine, and the rewritten sums
left about 0.5 GiB of their zero-filled buffers allocated from one step to the next, on
top of every later peak (docs/performance.md, 2026-12-07, Zen 5, three processes each:
tensors alive between steps 2.89-3.06 GiB with the rewrite, 2.51-2.53 without; peak
resident set 8.02-8.38 GiB against 7.38-7.56; the step no slower). The accumulation also
adds in the order the inputs arrive, which two threads may change from run to run. The
demo's small graph is never rewritten (the same weights to the bit with the optimizer on
or off).

TensorFlow has no public switch for this one pass, so `set_memory_optimizer` edits the
configuration that this thread's `tf.function` calls carry (TensorFlow's own
`function_executor_type` edits the same options); a function is optimised at its first
call with the configuration of that call.
"""

from tensorflow.core.protobuf import config_pb2
from tensorflow.core.protobuf import rewriter_config_pb2
from tensorflow.python.eager import context

_ON = rewriter_config_pb2.RewriterConfig.DEFAULT_MEM_OPT
_OFF = rewriter_config_pb2.RewriterConfig.NO_MEM_OPT


def function_config():
    """The `ConfigProto` that this thread's `tf.function` calls carry."""
    config = config_pb2.ConfigProto()
    config.ParseFromString(context.context().function_call_options.config_proto_serialized)
    return config


def set_memory_optimizer(enabled):
    """Turns grappler's memory optimizer on (TensorFlow's default) or off for the
    functions this thread calls (and first runs) from now on.

    Args:
      enabled: True for TensorFlow's default, False to leave out its rewrites.
    """
    config = function_config()
    config.graph_options.rewrite_options.memory_optimization = _ON if enabled else _OFF
    context.context().function_call_options.config_proto_serialized = config


def memory_optimizer_enabled():
    """Whether this thread's function calls run grappler's memory optimizer."""
    return function_config().graph_options.rewrite_options.memory_optimization != _OFF
