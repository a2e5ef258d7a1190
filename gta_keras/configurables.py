"""Optimizer factories for gin; scope them per player (`f/adam`, `g/adam`, `d/adam`)."""

import contextlib
import os
import re

import gin
import keras

from gta_keras import fused_adam


@gin.configurable
def adam(learning_rate=1e-4, beta_1=0.9, beta_2=0.999, decay_steps=None, decay_rate=0.1,
         fused=False):
    """An Adam optimizer, optionally with a staircase learning-rate decay.

    Args:
      learning_rate: initial learning rate.
      beta_1: Adam's first-moment decay.
      beta_2: Adam's second-moment decay.
      decay_steps: if set, multiply the learning rate by `decay_rate` every `decay_steps`
        updates (the reference decays F's rate x0.1 every 8 epochs).
      decay_rate: the factor of each decay.
      fused: update each variable with TF's fused `ResourceApplyAdam` kernel
        (`fused_adam.FusedAdam`): the same formula in one pass instead of about ten,
        2.7x faster on the paper model's weights on a CPU, equal to Keras' Adam up to
        float rounding.

    Returns:
      A `keras.optimizers.Adam` (a `fused_adam.FusedAdam` when `fused`).
    """
    if decay_steps:
        learning_rate = keras.optimizers.schedules.ExponentialDecay(
            learning_rate, decay_steps, decay_rate, staircase=True)
    optimizer_class = fused_adam.FusedAdam if fused else keras.optimizers.Adam
    return optimizer_class(learning_rate, beta_1=beta_1, beta_2=beta_2)


def parse_gin(files, bindings=()):
    """Parses gin files and bindings; `include` paths are relative to each file's folder.

    Each file in `files` is parsed with its folder as the working directory, and so are
    the files it includes, nested or not (smoke.gin -> demo.gin -> base.gin): an include
    path is relative to the folder of the file named in `files`, from any working
    directory. Why: gin looks an include up relative to the working directory first; when
    it is not there, gin's next reader (Python packages) logs "E ... Path not found:
    base.gin" although nothing failed, and a same-named file in the user's working
    directory would win over the one beside the gin file.

    Args:
      files: gin file paths, applied in order.
      bindings: extra bindings, applied last.

    Raises:
      FileNotFoundError: a gin file, or a file one of them includes, does not exist; the
        message names it (and, for an include, the chain of files that included it).
    """
    for path in files:
        path = os.path.abspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No such gin file: {path}")
        try:
            with contextlib.chdir(os.path.dirname(path)):
                gin.parse_config_file(path)
        except OSError as error:
            if not str(error).startswith("Unable to open file"):  # gin's words for it
                raise
            raise FileNotFoundError(
                f"A gin include was not found beside the file that includes it: {error}"
            ) from error
    gin.parse_config(bindings)
    gin.finalize()


def without_gin_context(message):
    """`message` without the "In call to configurable ..." lines gin appends to errors
    raised inside gin-configured functions: they name this package's functions, not
    anything the user gave."""
    return re.sub(r"\n\s*In call to configurable '[^\n]*", "", str(message)).strip()
