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
        input_size = tf.shape(images)[1:3]
        size = serving_size if serving_size else _round_to_stride(input_size)
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


def _round_to_stride(size):
    stride = embedder_lib.OUTPUT_STRIDE
    rounded = tf.cast(tf.round(tf.cast(size, tf.float32) / stride), tf.int32) * stride
    return tf.maximum(rounded, stride)
