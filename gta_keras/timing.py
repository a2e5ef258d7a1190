"""Seconds per image of training and of evaluation, measured in a run (paper Table 3).

Training: from the epoch-end events Keras' TensorBoard callback writes into
`<workdir>/logs/train` (one event file per training process). The time between two
consecutive epoch ends of one process is an epoch of training plus its checkpoint save
(and whatever else `train` runs at an epoch's end); each process's first epoch is left
out, as it holds the trace of the train step and the first fill of the shuffle buffers.
A resumed run's processes are timed each on its own, so the pause between them does not
count.

Evaluation: `EvalTimer` times Keras `evaluate` on one split; the seconds per image are
given over all batches (with the trace of the scoring step) and over the batches after
the first (without it).
"""

import glob
import os
import time

import keras
import tensorflow as tf

from gta_keras import runs

# Keras' TensorBoard callback names its per-epoch scalars "epoch_<metric>".
EPOCH_TAG_PREFIX = "epoch_"
TRAIN_LOG_SUBDIR = "train"


class EvalTimer(keras.callbacks.Callback):
    """Times Keras `evaluate` batch by batch, with the images counted so far.

    The model's logs must hold "num_images", the images scored so far
    (`evaluation.SegmentationScorer`).
    """

    def __init__(self):
        super().__init__()
        self.start = None
        self.marks = []  # (seconds since start, images scored so far), one per batch

    def on_test_begin(self, logs=None):
        self.start = time.perf_counter()
        self.marks = []

    def on_test_batch_end(self, batch, logs=None):
        self.marks.append((time.perf_counter() - self.start, float(logs["num_images"])))

    def summary(self):
        """The times of the last `evaluate`, for the eval JSON.

        Returns:
          {"eval_seconds" (from the start to the last batch's end),
          "eval_seconds_per_image", "eval_seconds_per_image_after_first_batch" (None with
          a single batch)}; all None before any batch.
        """
        if not self.marks:
            return {"eval_seconds": None, "eval_seconds_per_image": None,
                    "eval_seconds_per_image_after_first_batch": None}
        seconds, images = self.marks[-1]
        first_seconds, first_images = self.marks[0]
        after_first = (None if images <= first_images else
                       (seconds - first_seconds) / (images - first_images))
        return {"eval_seconds": seconds, "eval_seconds_per_image": seconds / images,
                "eval_seconds_per_image_after_first_batch": after_first}


def epoch_end_times(log_dir):
    """Epoch-end wall times of each training process, from its event file.

    Args:
      log_dir: the folder of Keras' training events (`train_log_dir`).

    Returns:
      A list, one per event file in name (= start time) order, of {epoch: wall time of
      its first "epoch_*" scalar}.
    """
    processes = []
    for path in sorted(glob.glob(os.path.join(log_dir, "events.out.tfevents.*"))):
        ends = {}
        for event in tf.compat.v1.train.summary_iterator(path):
            if any(value.tag.startswith(EPOCH_TAG_PREFIX) for value in event.summary.value):
                ends[event.step] = min(ends.get(event.step, event.wall_time),
                                       event.wall_time)
        processes.append(ends)
    return processes


def training_seconds_per_image(workdir, steps_per_epoch, batch_size):
    """Seconds per training image of a run, each process's first epoch left out.

    Args:
      workdir: the run's folder.
      steps_per_epoch: `train.steps_per_epoch` of the run.
      batch_size: `make_train_dataset.batch_size` of the run (triplets per step: each
        step reads a source and a target image per triplet; one "image" here is one
        triplet, as the paper's batch-1 time per image is one iteration).

    Returns:
      {"train_seconds_per_image", "train_epochs_timed"}; the first None when no process
      ran two epochs.
    """
    timed = []
    for ends in epoch_end_times(train_log_dir(workdir)):
        epochs = sorted(ends)
        timed += [ends[b] - ends[a] for a, b in zip(epochs, epochs[1:]) if b == a + 1]
    per_image = (sum(timed) / (len(timed) * steps_per_epoch * batch_size)
                 if timed else None)
    return {"train_seconds_per_image": per_image, "train_epochs_timed": len(timed)}


def train_log_dir(workdir):
    """Where Keras' TensorBoard callback writes a run's training events."""
    return os.path.join(runs.log_dir(workdir), TRAIN_LOG_SUBDIR)
