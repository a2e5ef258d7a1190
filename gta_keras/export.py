"""Exports the segmenter F + C as a SavedModel for TensorFlow Serving.

G and D are training-time players only and never ship. Preprocessing lives inside the
signature, so clients send plain uint8 RGB images of any size.
"""

import os
import shutil

import keras
import tensorflow as tf

from gta_keras.data import preprocessing
from gta_keras.models import embedder as embedder_lib

SIGNATURE_KEY = "serving_default"


def serving_fn(embedder, classifier, serving_size=None):
    """The serving computation: uint8 images of any size -> classes and probabilities.

    Args:
      embedder: F.
      classifier: C.
      serving_size: (height, width) at which F + C run; images are resized to it and the
        result back to the input size (the paper predicts Cityscapes at 512x1024). None
        rounds each batch's size to the nearest multiple of 32 instead.

    Returns:
      A function images uint8 [B, H, W, 3] -> {"classes": int32 [B, H, W],
      "probabilities": float32 [B, H, W, K]}.
    """

    def serve(images):
        # A loaded signature does not check the rank of its input at run time; without
        # this, a single image [H, W, 3] fails deep inside a resize op.
        images = tf.ensure_shape(images, [None, None, None, 3], name="check_images_shape")
        input_size = tf.shape(images)[1:3]
        size = serving_size or preprocessing.round_to_multiple(input_size,
                                                               embedder_lib.OUTPUT_STRIDE)
        resized = preprocessing.resize_images(images, size)
        features = embedder(preprocessing.embedder_input(resized), training=False)
        logits = classifier(features, training=False)
        logits = tf.image.resize(logits, input_size, method="bilinear")
        return {"classes": tf.argmax(logits, axis=-1, output_type=tf.int32),
                "probabilities": tf.nn.softmax(logits, axis=-1)}

    return serve


def export_segmenter(embedder, classifier, export_base, version, serving_size=None):
    """Writes F + C to `<export_base>/<version>/`, the TensorFlow Serving layout.

    Args:
      embedder: F.
      classifier: C.
      export_base: the model's base folder for TF Serving.
      version: integer version (the training step); an existing folder is replaced.
      serving_size: see `serving_fn`.

    Returns:
      The path written.
    """
    path = os.path.join(export_base, str(int(version)))
    if os.path.exists(path):
        shutil.rmtree(path)
    archive = keras.export.ExportArchive()
    archive.track(embedder)
    archive.track(classifier)
    archive.add_endpoint(
        SIGNATURE_KEY, serving_fn(embedder, classifier, serving_size),
        input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8, name="images")])
    archive.write_out(path, verbose=False)
    return path


def load_predictor(path):
    """Loads an exported segmenter as a class predictor, for scoring what ships.

    Args:
      path: the SavedModel folder (`<export_base>/<version>`).

    Returns:
      A function (images float32 [B, H, W, 3] RGB in [0, 255], output size) -> class ids
      int32 [B, H, W]; the images must already have the output size (the label size), as
      the signature answers at input size.
    """
    # The signature only references the loaded object's variables: keep the object alive.
    loaded = tf.saved_model.load(path)

    def predict_classes(images, output_size):
        del output_size  # The signature answers at the input size.
        serve = loaded.signatures[SIGNATURE_KEY]
        return serve(images=tf.cast(images, tf.uint8))["classes"]

    return predict_classes
