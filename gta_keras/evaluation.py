"""Segmentation metrics: a streaming confusion matrix and the IoU figures read from it."""

import json
import os

import keras
import numpy as np
import tensorflow as tf


@keras.saving.register_keras_serializable(package="gta_keras")
class ConfusionMatrix(keras.metrics.Metric):
    """Accumulates a [num_classes, num_classes] confusion matrix (rows: truth).

    Pixels whose label is outside [0, num_classes) (void, 255) are ignored. `result()` is
    the mean IoU over classes that occur in the labels seen so far.

    Args:
      num_classes: number of label classes.
      name: metric name.
    """

    def __init__(self, num_classes, name="miou", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes = num_classes
        self.matrix = self.add_variable(
            shape=(num_classes, num_classes), initializer="zeros", dtype="float64",
            name="matrix")

    def update_state(self, labels, predictions, sample_weight=None):
        """Adds a batch.

        Args:
          labels: int [...] true class ids (void and other ids >= num_classes ignored).
          predictions: int [...] predicted class ids, same shape.
          sample_weight: unused; Keras' Metric API.
        """
        del sample_weight
        labels = tf.reshape(tf.cast(labels, tf.int64), [-1])
        predictions = tf.reshape(tf.cast(predictions, tf.int64), [-1])
        keep = tf.logical_and(labels >= 0, labels < self.num_classes)
        labels = tf.boolean_mask(labels, keep)
        # A prediction outside the classes (e.g. a trainId CamVid has no class for) is
        # counted in an extra column that belongs to no class: a miss for the truth.
        predictions = tf.clip_by_value(tf.boolean_mask(predictions, keep), 0,
                                       self.num_classes)
        counts = tf.math.bincount(
            labels * (self.num_classes + 1) + predictions,
            minlength=self.num_classes * (self.num_classes + 1),
            maxlength=self.num_classes * (self.num_classes + 1), dtype=tf.float64)
        counts = tf.reshape(counts, [self.num_classes, self.num_classes + 1])
        self.matrix.assign_add(counts[:, :self.num_classes])

    def result(self):
        matrix = tf.convert_to_tensor(self.matrix)
        true_positives = tf.linalg.diag_part(matrix)
        union = tf.reduce_sum(matrix, 0) + tf.reduce_sum(matrix, 1) - true_positives
        present = tf.reduce_sum(matrix, 1) > 0
        iou = tf.math.divide_no_nan(true_positives, union)
        return tf.math.divide_no_nan(
            tf.reduce_sum(tf.where(present, iou, 0.0)),
            tf.reduce_sum(tf.cast(present, tf.float64)))

    def reset_state(self):
        self.matrix.assign(tf.zeros_like(self.matrix))

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name}


class SegmentationScorer(keras.Model):
    """Runs Keras `evaluate` for any class predictor, accumulating a confusion matrix.

    Built anew for each split, so each can have its own label space (e.g. CamVid's).
    After `evaluate`, the counts are in `self.confusion.matrix`.

    Args:
      predict_classes: function (images float32 [B, H, W, 3] RGB in [0, 255], output size
        (h, w)) -> predicted class ids int32 [B, h, w].
      num_label_classes: classes of the labels being scored against.
      prediction_lookup: a 256-entry table mapping predicted ids into the label space (ids it
        has no class for map outside it, so they count as misses), or None when the labels
        use the predictor's own classes.
    """

    def __init__(self, predict_classes, num_label_classes, prediction_lookup=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.predict_classes = predict_classes
        self.prediction_lookup = (None if prediction_lookup is None
                                  else tf.constant(prediction_lookup, tf.int32))
        self.confusion = ConfusionMatrix(num_label_classes)
        self.image_count = keras.metrics.Sum(name="num_images")

    @property
    def metrics(self):
        return [self.confusion, self.image_count]

    def test_step(self, data):
        images, labels = data
        predictions = self.predict_classes(images, tf.shape(labels)[1:3])
        if self.prediction_lookup is not None:
            predictions = tf.gather(self.prediction_lookup, predictions)
        self.confusion.update_state(labels[..., 0], predictions)
        self.image_count.update_state(tf.cast(tf.shape(images)[0], tf.float32))
        return {"miou": self.confusion.result(), "num_images": self.image_count.result()}


def iou_per_class(matrix):
    """IoU of each class from a confusion matrix (rows: truth, columns: prediction).

    The row sums count every pixel of a class, including those predicted as ids outside the
    matrix; IoU_c = TP_c / (row_c + column_c - TP_c).

    Args:
      matrix: [K, K] counts.

    Returns:
      float64 [K]; NaN for classes that never occur in the labels.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    true_positives = np.diag(matrix)
    truth = matrix.sum(axis=1)
    union = truth + matrix.sum(axis=0) - true_positives
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = true_positives / union
    iou[truth == 0] = np.nan
    return iou


def summarize(matrix, class_names, protocol_class_ids=None):
    """Per-class IoU, mIoU and pixel accuracy from a confusion matrix.

    Args:
      matrix: [K, K] counts.
      class_names: K names.
      protocol_class_ids: optional dict protocol name -> class ids; each gets its own mIoU
        (over the classes of the protocol that occur in the labels).

    Returns:
      A JSON-ready dict: per_class_iou (name -> IoU or None when absent), miou (over the
      classes present), pixel_accuracy, and one "miou<name>" entry per protocol.
    """
    iou = iou_per_class(matrix)
    matrix = np.asarray(matrix, dtype=np.float64)
    total = matrix.sum()
    summary = {
        "class_names": list(class_names),
        "per_class_iou": {name: _none_if_nan(v) for name, v in zip(class_names, iou)},
        "miou": _nanmean(iou),
        "pixel_accuracy": float(np.trace(matrix) / total) if total else None,
        "num_labelled_pixels": int(total),
    }
    for name, ids in (protocol_class_ids or {}).items():
        summary[f"miou{name}"] = _nanmean(iou[list(ids)])
    return summary


def write_json(summary, path):
    """Writes a summary dict as indented JSON, creating the folder."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(summary, f, indent=2, sort_keys=True)


def format_table(summary):
    """A plain-text per-class IoU table (IoU in percent) ending with the mIoU line."""
    lines = [f"{'class':<16} {'IoU':>6}"]
    for name, value in summary["per_class_iou"].items():
        if value is not None:
            lines.append(f"{name:<16} {100 * value:6.1f}")
    lines.append(f"{'mIoU':<16} {100 * summary['miou']:6.1f}")
    return "\n".join(lines)


def _nanmean(values):
    values = np.asarray(values, dtype=np.float64)
    if np.all(np.isnan(values)):
        return None
    return float(np.nanmean(values))


def _none_if_nan(value):
    return None if np.isnan(value) else float(value)

