"""What `experiment.evaluate` scores: a trained model or an exported SavedModel.

A predictor maps RGB images in [0, 255] and an output size to class ids, knows how many
classes it predicts, and says what it is for the eval JSON. Scoring a checkpoint and
scoring what TF Serving would run then go through the same code.
"""

import contextlib
import dataclasses
import functools
from typing import Callable

import tensorflow as tf

from gta_keras import averaging
from gta_keras import export


@dataclasses.dataclass(frozen=True)
class Predictor:
    """A segmenter to score.

    Attributes:
      predict_classes: (images float32 [B, H, W, 3] RGB in [0, 255], output size) ->
        class ids int32 [B, output height, output width].
      num_classes: classes it predicts.
      description: what it is, merged into every eval JSON (e.g. the checkpoint step).
      weights_in: (weights: "ema", "raw" or None) -> a context manager in which
        `predict_classes` scores those weights of a trained model, and which yields what
        the eval JSON says of them; by default, for a predictor with one set of weights
        (a SavedModel), it changes nothing and yields {}.
    """
    predict_classes: Callable
    num_classes: int
    description: dict
    weights_in: Callable = lambda weights: contextlib.nullcontext({})


def from_model(model, checkpoint_step, selected_by=None):
    """A trained `DomainAdaptationModel` with the checkpoint it holds.

    Args:
      model: the model, holding the weights to score.
      checkpoint_step: the step of those weights.
      selected_by: how the checkpoint was chosen (`experiment.select_checkpoint`'s
        `selection.stamp`: "checkpoint_selection", "selection_split", "oracle"); None for
        the last checkpoint.

    Returns:
      A `Predictor`.
    """
    selected_by = selected_by or {"checkpoint_selection": "last", "selection_split": None,
                                  "oracle": False}
    return Predictor(model.predict_classes, model.num_classes, {
        "eval_size": list(model.eval_size) if model.eval_size else "label size",
        "upsampling": model.upsampling,
        "checkpoint_step": int(checkpoint_step),
        # "oracle": true when the checkpoint was chosen on target labels.
        **selected_by,
        "method": model.method,
        # Only "target_only" (the upper bound) trains on target labels.
        "reads_target_labels": model.reads_target_labels,
    }, functools.partial(_model_weights_in, model))


@contextlib.contextmanager
def _model_weights_in(model, weights):
    """A model's `Predictor.weights_in`: its moving average of F and C ("ema"; the
    default when it keeps one) or its training weights ("raw") in F and C."""
    average = model.segmenter_average
    decay = None if average is None else average.decay
    weights = averaging.resolve(weights, decay)
    with averaging.weights_in(model, weights):
        yield {"weights": weights, "segmenter_ema_decay": decay}


def from_saved_model(path):
    """An exported segmenter (`export.export_segmenter`), as TF Serving would run it.

    Args:
      path: the SavedModel folder, `<export_base>/<version>`.

    Returns:
      A `Predictor` whose `predict_classes` needs images already at the output size (the
      signature answers at the input size; evaluation feeds images at label size).
    """
    # The signature only references the loaded object's variables: the closure keeps the
    # object alive.
    loaded = tf.saved_model.load(path)
    signature = loaded.signatures[export.SIGNATURE_KEY]
    num_classes = int(signature.structured_outputs["probabilities"].shape[-1])

    def predict_classes(images, output_size):
        del output_size  # The signature answers at the input size.
        return loaded.signatures[export.SIGNATURE_KEY](
            images=tf.cast(images, tf.uint8))["classes"]

    return Predictor(predict_classes, num_classes, {"saved_model": path})
