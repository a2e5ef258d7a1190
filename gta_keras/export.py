"""Exports the segmenter F + C as a SavedModel for TensorFlow Serving.

G and D are training-time players only and never ship. Preprocessing lives inside the
signature, so clients send plain uint8 RGB images of any size.
"""

import json
import os
import shutil

import keras
import tensorflow as tf

from gta_keras.models import segmenter

SIGNATURE_KEY = "serving_default"
# What an export holds (its step, which weights), beside the SavedModel. TF Serving and
# `tf.saved_model.load` ignore assets.extra/, the SavedModel folder for files that are not
# part of the graph (TF Serving's warm-up requests live there too).
RECORD_PATH = os.path.join("assets.extra", "gta_keras_export.json")


def serving_fn(embedder, classifier, serving_size=None, upsampling="bilinear_logits"):
    """The serving computation: uint8 images of any size -> classes and probabilities.

    Args:
      embedder: F.
      classifier: C.
      serving_size: (height, width) at which F + C run; images are resized to it and the
        result back to the input size (the paper predicts Cityscapes at 512x1024). None
        rounds each batch's size to the nearest multiple of 32 instead.
      upsampling: how scores return to the input size; see `segmenter.UPSAMPLINGS`.

    Returns:
      A function images uint8 [B, H, W, 3] -> {"classes": int32 [B, H, W],
      "probabilities": float32 [B, H, W, K]}.
    """

    def serve(images):
        # A loaded signature does not check the rank of its input at run time; without
        # this, a single image [H, W, 3] fails deep inside a resize op.
        images = tf.ensure_shape(images, [None, None, None, 3], name="check_images_shape")
        # Without this, an image of zero height or width fails in the resize ("input image
        # must be of non-zero size") and an empty batch in a convolution with a message
        # about filter depths.
        with tf.control_dependencies([tf.debugging.assert_positive(
                tf.shape(images)[:3], name="check_images_not_empty",
                message=f"{SIGNATURE_KEY} needs at least one image of at least 1x1 "
                "pixels: images [B, H, W, 3] with B, H, W >= 1; send non-empty images. "
                "Got [B, H, W] =")]):
            images = tf.identity(images)
        logits = segmenter.predict_logits(embedder, classifier, images,
                                          tf.shape(images)[1:3], serving_size, upsampling)
        return {"classes": tf.argmax(logits, axis=-1, output_type=tf.int32),
                "probabilities": tf.nn.softmax(logits, axis=-1)}

    return serve


def export_segmenter(embedder, classifier, export_base, version, serving_size=None,
                     upsampling="bilinear_logits", record=None):
    """Writes F + C to `<export_base>/<version>/`, the TensorFlow Serving layout.

    Args:
      embedder: F.
      classifier: C.
      export_base: the model's base folder for TF Serving.
      version: integer version (the training step); an existing folder is replaced.
      serving_size: see `serving_fn`.
      upsampling: see `serving_fn`.
      record: a JSON-able dict written to `<path>/RECORD_PATH` beside the SavedModel
        (e.g. which weights it holds); None writes none.

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
        SIGNATURE_KEY, serving_fn(embedder, classifier, serving_size, upsampling),
        input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8, name="images")])
    archive.write_out(path, verbose=False)
    if record is not None:
        os.makedirs(os.path.dirname(os.path.join(path, RECORD_PATH)), exist_ok=True)
        with open(os.path.join(path, RECORD_PATH), "w") as f:
            json.dump(record, f, indent=2, sort_keys=True)
    return path
