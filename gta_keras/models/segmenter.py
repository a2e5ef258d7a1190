"""The segmenter C(F(x)): the one path from RGB images to class scores.

Training (`DomainAdaptationModel.call` and its losses), evaluation, the predictions
figure, the exported serving function and `gta_keras.predict` all segment through these
functions, so what is trained, scored and served cannot drift apart.
"""

import dataclasses

import gin
import tensorflow as tf

from gta_keras import errors
from gta_keras.data import preprocessing
from gta_keras.models import embedder as embedder_lib

# How scores at prediction size reach the label size. "bilinear_logits": resize the logits
# bilinearly, then take the argmax. "nearest_labels": the reference code's evaluation,
# argmax at prediction size and the label map upsampled by nearest neighbour (done here
# as a nearest resize of the logits, which picks the same source pixel for every class
# and so gives the same argmax).
UPSAMPLINGS = ("bilinear_logits", "nearest_labels")


@gin.configurable("segmenter")
@dataclasses.dataclass(frozen=True)
class SegmenterConfig:
    """How the segmenter predicts at evaluation and serving time.

    Attributes:
      eval_size: (height, width) at which F + C run on an image to segment (the paper:
        512x1024, then x2 to Cityscapes' 1024x2048); None rounds each input to the
        nearest sides divisible by 32.
      upsampling: "bilinear_logits" or "nearest_labels" (the reference code's); see
        `UPSAMPLINGS`.
    """
    eval_size: tuple = None
    upsampling: str = "bilinear_logits"

    def __post_init__(self):
        check_upsampling(self.upsampling)
        if self.eval_size is not None:
            object.__setattr__(self, "eval_size", tuple(int(s) for s in self.eval_size))


def check_upsampling(upsampling):
    """Raises a ConfigurationError naming the choices when `upsampling` is not one of
    them."""
    if upsampling not in UPSAMPLINGS:
        raise errors.ConfigurationError(
            f"Unknown segmenter.upsampling {upsampling!r}; use one of {UPSAMPLINGS}.")


def segment(embedder, classifier, images, training=False, recompute_blocks=False):
    """F's features and C's logits for RGB images whose sides divide by 32.

    Args:
      embedder: F.
      classifier: C.
      images: float [B, H, W, 3] RGB in [0, 255].
      training: whether dropout is active.
      recompute_blocks: run F through `embedder_lib.call_recomputing_blocks` (the same
        function; less memory in a backward pass, one more forward of F's blocks).

    Returns:
      (features, logits): F's dict {"fc7", "pool4", "pool3"} (G's input) and C's logits
      [B, H, W, K] at input size.
    """
    features = embed(embedder, preprocessing.embedder_input(images), training,
                     recompute_blocks)
    return features, classifier(features, training=training)


def embed(embedder, embedder_input, training=False, recompute_blocks=False):
    """F's features of `preprocessing.embedder_input` images; see `segment`."""
    if recompute_blocks:
        return embedder_lib.call_recomputing_blocks(embedder, embedder_input, training)
    return embedder(embedder_input, training=training)


def predict_logits(embedder, classifier, images, output_size, eval_size=None,
                   upsampling="bilinear_logits"):
    """Logits at `output_size` for RGB images of any size: resize, segment, resize back.

    Args:
      embedder: F.
      classifier: C.
      images: float or uint8 [B, H, W, 3] RGB in [0, 255], any size.
      output_size: (height, width) of the answer, e.g. the label size.
      eval_size: (height, width) F + C run at; None for the input size rounded to the
        nearest multiple of 32.
      upsampling: "bilinear_logits" or "nearest_labels"; see `UPSAMPLINGS`.

    Returns:
      float32 logits [B, output height, output width, K].
    """
    check_upsampling(upsampling)
    size = eval_size or preprocessing.round_to_multiple(tf.shape(images)[1:3],
                                                        embedder_lib.OUTPUT_STRIDE)
    _, logits = segment(embedder, classifier, preprocessing.resize_images(images, size))
    method = "bilinear" if upsampling == "bilinear_logits" else "nearest"
    return tf.image.resize(logits, output_size, method=method)


def predict_classes(embedder, classifier, images, output_size, eval_size=None,
                    upsampling="bilinear_logits"):
    """Class ids int32 [B, output height, output width]; see `predict_logits`."""
    logits = predict_logits(embedder, classifier, images, output_size, eval_size,
                            upsampling)
    return tf.argmax(logits, axis=-1, output_type=tf.int32)
