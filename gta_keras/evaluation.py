"""Segmentation metrics: a streaming confusion matrix and the IoU figures read from it.

IoU follows cityscapesScripts and the FCN scoring of the paper's reference code: one
confusion matrix over all scored images, IoU_c = TP_c / (TP_c + FP_c + FN_c); a class
predicted but absent from the labels scores 0, and only a class neither in the labels nor
predicted is left out of the mean. `tests/test_metric_crosscheck.py` compares the result
with cityscapesScripts' `evaluateImgLists`.
"""

import json
import os

import keras
import numpy as np
import tensorflow as tf


@keras.saving.register_keras_serializable(package="gta_keras")
class ConfusionMatrix(keras.metrics.Metric):
    """Accumulates a confusion matrix: rows the true class, columns the predicted one.

    Pixels whose label is outside [0, num_classes) (void, 255) are ignored. A prediction
    outside [0, num_classes) (e.g. a trainId that CamVid has no class for) is counted in an
    extra last column that belongs to no class: a miss for the true class, a false positive
    for none. `result()` is the mean IoU by the rule of `iou_per_class`.

    Args:
      num_classes: number of label classes.
      name: metric name.
    """

    def __init__(self, num_classes, name="miou", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes = num_classes
        self.table = self.add_variable(
            shape=(num_classes, num_classes + 1), initializer="zeros", dtype="float64",
            name="confusion")

    @property
    def matrix(self):
        """The [K, K] class-by-class counts, without the predicted-outside column."""
        return tf.convert_to_tensor(self.table)[:, :self.num_classes]

    def counts(self):
        """All counts as a numpy [K, K + 1] array, the last column predicted outside.

        This is what `iou_per_class` and `summarize` should be given, so that pixels
        predicted as ids outside the classes count as misses.
        """
        return np.asarray(self.table.numpy())

    def update_state(self, labels, predictions, sample_weight=None):
        """Adds a batch.

        Args:
          labels: int [...] true class ids (void and other ids >= num_classes ignored).
          predictions: int [...] predicted class ids, same shape; ids outside
            [0, num_classes) count in the predicted-outside column.
          sample_weight: unused; Keras' Metric API.
        """
        del sample_weight
        labels = tf.reshape(tf.cast(labels, tf.int64), [-1])
        predictions = tf.reshape(tf.cast(predictions, tf.int64), [-1])
        keep = tf.logical_and(labels >= 0, labels < self.num_classes)
        labels = tf.boolean_mask(labels, keep)
        predictions = tf.boolean_mask(predictions, keep)
        inside = tf.logical_and(predictions >= 0, predictions < self.num_classes)
        predictions = tf.where(inside, predictions, tf.cast(self.num_classes, tf.int64))
        size = self.num_classes * (self.num_classes + 1)
        counts = tf.math.bincount(labels * (self.num_classes + 1) + predictions,
                                  minlength=size, maxlength=size, dtype=tf.float64)
        self.table.assign_add(tf.reshape(counts, [self.num_classes, self.num_classes + 1]))

    def result(self):
        """Mean IoU over the classes that occur in the labels or in the predictions."""
        table = tf.convert_to_tensor(self.table)
        true_positives = tf.linalg.diag_part(table[:, :self.num_classes])
        union = (tf.reduce_sum(table, 1) + tf.reduce_sum(table[:, :self.num_classes], 0)
                 - true_positives)
        scored = union > 0
        iou = tf.math.divide_no_nan(true_positives, union)
        return tf.math.divide_no_nan(
            tf.reduce_sum(tf.where(scored, iou, tf.zeros_like(iou))),
            tf.reduce_sum(tf.cast(scored, tf.float64)))

    def reset_state(self):
        self.table.assign(tf.zeros_like(self.table))

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name}


class SegmentationScorer(keras.Model):
    """Runs Keras `evaluate` for any class predictor, accumulating a confusion matrix.

    Built anew for each split, so each can have its own label space (e.g. CamVid's).
    After `evaluate`, the counts are in `self.confusion.counts()` (give those to
    `summarize`).

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


MIOU_RULE = (
    "IoU_c = TP_c / (TP_c + FP_c + FN_c), counted over all scored images at once; void "
    "pixels are left out, a pixel predicted as an id outside the classes is a miss. A "
    "class predicted but absent from the labels has IoU 0; only a class neither in the "
    "labels nor predicted is left out of the mean (per_class_iou null). As "
    "cityscapesScripts and the FCN scoring of the paper's reference code.")


def iou_per_class(counts):
    """IoU of each class from a confusion matrix (rows: truth, columns: prediction).

    IoU_c = TP_c / (row_c + column_c - TP_c), where the row counts every labelled pixel of
    class c (also those predicted as ids outside the classes, given as an optional last
    column) and the column every labelled pixel predicted as c. A class predicted but
    absent from the labels gets IoU 0; a class neither present nor predicted is NaN and
    is left out of means. This is cityscapesScripts' rule and that of the FCN scoring
    (`np.nanmean(diag / (rows + columns - diag))`) in the paper's reference code.

    Args:
      counts: [K, K] counts, or [K, K + 1] whose last column counts pixels predicted as
        ids outside the K classes (`ConfusionMatrix.counts()`).

    Returns:
      float64 [K]; NaN for classes neither in the labels nor predicted.

    Raises:
      ValueError: for a shape other than [K, K] or [K, K + 1].
    """
    counts = _check_counts(counts)
    num_classes = counts.shape[0]
    true_positives = np.diag(counts[:, :num_classes])
    union = counts.sum(axis=1) + counts[:, :num_classes].sum(axis=0) - true_positives
    iou = np.full(num_classes, np.nan)
    scored = union > 0
    iou[scored] = true_positives[scored] / union[scored]
    return iou


def summarize(counts, class_names, protocol_class_ids=None):
    """Per-class IoU, mIoU and pixel accuracy from a confusion matrix.

    Every figure is read from the one matrix: a protocol's mIoU (e.g. the 16 SYNTHIA
    classes) is the mean of its classes' entries of `per_class_iou`, computed from the
    matrix over all K classes the predictor outputs, as the paper's authors compute their
    16-class number from a 19-class model. It is not a separate 16-class evaluation.

    Args:
      counts: [K, K] or [K, K + 1] counts (see `iou_per_class`).
      class_names: K names.
      protocol_class_ids: optional dict protocol name -> class ids; each gets its own
        "miou<name>", the mean of those classes' per-class IoUs (left-out classes, see
        `iou_per_class`, are skipped).

    Returns:
      A JSON-ready dict: class_names; per_class_iou (name -> IoU, or None for a class
      neither in the labels nor predicted); miou (the mean of the per_class_iou values
      that are not None); miou_rule (how IoU and the mean are taken); pixel_accuracy;
      num_labelled_pixels; one "miou<name>" entry per protocol, and "protocols"
      (name -> its class ids, class names and a sentence on how it is computed).
    """
    counts = _check_counts(counts)
    num_classes = counts.shape[0]
    if len(class_names) != num_classes:
        raise ValueError(f"{len(class_names)} class names for a {num_classes}-class "
                         "confusion matrix.")
    iou = iou_per_class(counts)
    total = counts.sum()
    summary = {
        "class_names": list(class_names),
        "per_class_iou": {name: _none_if_nan(v) for name, v in zip(class_names, iou)},
        "miou": _nanmean(iou),
        "miou_rule": MIOU_RULE,
        "pixel_accuracy": (float(np.trace(counts[:, :num_classes]) / total) if total
                           else None),
        "num_labelled_pixels": int(total),
    }
    protocols = {}
    for name, ids in (protocol_class_ids or {}).items():
        ids = [int(i) for i in ids]
        summary[f"miou{name}"] = _nanmean(iou[ids])
        protocols[str(name)] = {
            "class_ids": ids,
            "class_names": [class_names[i] for i in ids],
            "rule": (f"miou{name} is the mean of these {len(ids)} classes' per_class_iou "
                     f"values, all read from the one {num_classes}-class confusion "
                     "matrix (the 16-class Cityscapes number as the paper's authors "
                     "compute it), not a separate evaluation in fewer classes."),
        }
    if protocols:
        summary["protocols"] = protocols
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


def _check_counts(counts):
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[1] not in (counts.shape[0], counts.shape[0] + 1):
        raise ValueError(f"A confusion matrix is [K, K] or [K, K + 1], got {counts.shape}.")
    return counts


def _nanmean(values):
    values = np.asarray(values, dtype=np.float64)
    if np.all(np.isnan(values)):
        return None
    return float(np.nanmean(values))


def _none_if_nan(value):
    return None if np.isnan(value) else float(value)

