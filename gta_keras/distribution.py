"""Which `tf.distribute` strategy trains, and TensorFlow's op determinism.

gin: `distribution.strategy = 'default' | 'mirrored' | 'multi_worker' | 'tpu'`
(docs/distributed.md). Models, optimizers and checkpoints are made in the strategy's scope
by `experiment.train`; `DomainAdaptationModel` divides each player's loss by
`num_replicas_in_sync` before its gradient (the optimizers sum gradients over replicas),
so a step on R replicas of B/R examples is a step on the global batch B.
"""

import gin
import tensorflow as tf

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")


@gin.configurable("distribution")
def make_strategy(strategy="default", devices=None, tpu=""):
    """The `tf.distribute.Strategy` that training runs under.

    Args:
      strategy: "default" (one device: TensorFlow's default strategy), "mirrored" (every
        GPU of this host, or `devices`), "multi_worker" (several hosts: the cluster and
        this worker's task come from the `TF_CONFIG` environment variable) or "tpu".
      devices: for "mirrored", the devices to mirror on, e.g. ["/gpu:0", "/gpu:1"];
        None for all GPUs (or the CPU when there is none).
      tpu: for "tpu", the TPU's name or address ("" for the local one).

    Returns:
      The strategy.

    Raises:
      ValueError: an unknown strategy name.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"Unknown distribution.strategy {strategy!r}; use one of "
                         f"{STRATEGIES}.")
    if strategy == "default":
        return tf.distribute.get_strategy()
    if strategy == "mirrored":
        return tf.distribute.MirroredStrategy(devices)
    if strategy == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def num_replicas():
    """Replicas of the strategy in scope (1 outside any)."""
    return tf.distribute.get_strategy().num_replicas_in_sync


def is_multi_worker(strategy):
    """Whether `strategy` spans several workers (hosts or processes)."""
    extended = strategy.extended
    return bool(getattr(extended, "_in_multi_worker_mode", lambda: False)())


def is_chief(strategy):
    """Whether this worker writes the run's files (the only one on a single host)."""
    if not is_multi_worker(strategy):
        return True
    resolver = strategy.cluster_resolver
    return (resolver.task_type in (None, "chief")
            or (resolver.task_type == "worker" and resolver.task_id == 0
                and "chief" not in resolver.cluster_spec().as_dict()))


def enable_determinism():
    """Makes TensorFlow's ops deterministic (same inputs, same bits), at some speed cost.

    `tf.config.experimental.enable_op_determinism`: every op picks a deterministic kernel
    (or fails when it has none) and tf.data runs its parallel maps in order.
    """
    tf.config.experimental.enable_op_determinism()
