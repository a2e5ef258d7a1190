"""Optimizer factories for gin; scope them per player (`f/adam`, `g/adam`, `d/adam`)."""

import os

import gin
import keras


@gin.configurable
def adam(learning_rate=1e-4, beta_1=0.9, beta_2=0.999, decay_steps=None, decay_rate=0.1):
    """An Adam optimizer, optionally with a staircase learning-rate decay.

    Args:
      learning_rate: initial learning rate.
      beta_1: Adam's first-moment decay.
      beta_2: Adam's second-moment decay.
      decay_steps: if set, multiply the learning rate by `decay_rate` every `decay_steps`
        updates (the reference decays F's rate x0.1 every 8 epochs).
      decay_rate: the factor of each decay.

    Returns:
      A `keras.optimizers.Adam`.
    """
    if decay_steps:
        learning_rate = keras.optimizers.schedules.ExponentialDecay(
            learning_rate, decay_steps, decay_rate, staircase=True)
    return keras.optimizers.Adam(learning_rate, beta_1=beta_1, beta_2=beta_2)


def parse_gin(files, bindings=()):
    """Parses gin files and bindings; `include` lines resolve beside the including files.

    Args:
      files: gin file paths, applied in order.
      bindings: extra bindings, applied last.
    """
    for path in files:
        gin.add_config_file_search_path(os.path.dirname(os.path.abspath(path)))
    gin.parse_config_files_and_bindings(files, bindings)
