"""Checkpoints of F, C, G, D and every optimizer, and resuming from them.

Keras 3 does not track optimizers kept as model attributes, so `model.save_weights` would
lose the optimizer state of an alternating GAN; a `tf.train.Checkpoint` names each part.
"""

import copy
import os

import keras
import tensorflow as tf


class CheckpointMismatchError(ValueError):
    """A checkpoint does not fit the model and optimizers built from the gin config."""


class CheckpointNotFoundError(FileNotFoundError):
    """There is no checkpoint where one is needed."""


class Checkpointer:
    """Saves and restores a `DomainAdaptationModel` and its optimizers.

    Args:
      model: a compiled `DomainAdaptationModel`.
      directory: where checkpoints go (created on first save).
      max_to_keep: checkpoints kept.
    """

    def __init__(self, model, directory, max_to_keep=3):
        model.build_optimizers()
        parts = {"embedder": model.embedder, "classifier": model.classifier}
        if model.generator is not None:
            parts["generator"] = model.generator
        if model.discriminator is not None:
            parts["discriminator"] = model.discriminator
        parts.update(model.optimizers())
        self.model = model
        self.checkpoint = tf.train.Checkpoint(**parts)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, directory, max_to_keep=max_to_keep,
            step_counter=model.f_optimizer.iterations)

    def sibling(self, directory, max_to_keep=1):
        """A `Checkpointer` of the same model and optimizers that writes to `directory`.

        E.g. the best checkpoint seen during training, kept apart from the newest ones.
        """
        other = copy.copy(self)
        other.manager = tf.train.CheckpointManager(
            self.checkpoint, directory, max_to_keep=max_to_keep,
            step_counter=self.model.f_optimizer.iterations)
        return other

    @property
    def step(self):
        """Training steps taken so far (F's optimizer applies once per step)."""
        return int(self.model.f_optimizer.iterations.numpy())

    def save(self):
        """Saves a checkpoint numbered by the current step; returns its path."""
        return self.manager.save(checkpoint_number=self.step)

    def restore_latest(self, require=False):
        """Restores the newest checkpoint, if any.

        Args:
          require: raise when there is none.

        Returns:
          The restored checkpoint's path, or None.

        Raises:
          CheckpointNotFoundError: if `require` and there is no checkpoint.
          CheckpointMismatchError: if the checkpoint was written by a differently
            configured model or optimizer.
        """
        path = self.manager.latest_checkpoint
        if path is None:
            if require:
                raise CheckpointNotFoundError(
                    f"No checkpoint in {self.manager.directory}. Train first (--mode=train) "
                    "or point --workdir at a trained run.")
            return None
        return self.restore(path)

    @property
    def paths(self):
        """The kept checkpoints' paths, oldest first."""
        return list(self.manager.checkpoints)

    def restore(self, path):
        """Restores the checkpoint at `path` (one of `paths`); returns `path`.

        Raises:
          CheckpointMismatchError: if the checkpoint was written by a differently
            configured model or optimizer.
        """
        # Parts a method does not use (G and D for source_only) may be in the file.
        _restore(self.checkpoint, path,
                 problem=f"{path} does not fit the model and optimizers built from this "
                 "gin configuration",
                 advice="Use the gin files and bindings the run was trained with; they are "
                 "in its operative_config.gin.")
        return path


def warm_start(model, source):
    """Initialises F and C from another run's checkpoint; G, D and optimizers stay fresh.

    Meant for adapting from a trained segmenter (e.g. a `source_only` run): only the
    embedder and classifier are read, so a checkpoint with or without G and D serves.

    Args:
      model: a compiled `DomainAdaptationModel` whose F and C match the checkpoint's.
      source: a run's folder (its newest checkpoint is used), a checkpoint folder, or a
        checkpoint path such as ".../checkpoints/ckpt-1500".

    Returns:
      The checkpoint path read.

    Raises:
      CheckpointNotFoundError: when `source` holds no checkpoint.
      CheckpointMismatchError: when the checkpoint's F or C does not fit the model's.
    """
    path = find_checkpoint(source)
    segmenter = tf.train.Checkpoint(embedder=model.embedder, classifier=model.classifier)
    _restore(segmenter, path,
             problem=f"Cannot warm-start from {path}: its embedder and classifier do not "
             "match this model's",
             advice="Use the same sizes (embedder.width_multiplier, embedder.fc_width, "
             "build_model.num_classes) as the run that wrote it.")
    return path


def find_checkpoint(source):
    """The checkpoint a warm start reads: `source` is a run, checkpoint folder or path.

    Raises:
      CheckpointNotFoundError: when `source` holds no checkpoint.
    """
    for directory in (checkpoint_directory(source), source):
        if os.path.isdir(directory):
            path = tf.train.latest_checkpoint(directory)
            if path:
                return path
    if tf.io.gfile.exists(source + ".index"):
        return source
    raise CheckpointNotFoundError(
        f"No checkpoint to warm-start from in {source}. Give a run's --workdir, its "
        "checkpoints folder, or a path like <workdir>/checkpoints/ckpt-1500.")


def _restore(checkpoint, path, problem, advice):
    """Restores every object of `checkpoint` from `path`; extra entries in the file are fine.

    Raises:
      CheckpointMismatchError: "<problem> (<first line of TensorFlow's error, which can run
        to pages>). <advice>".
    """
    try:
        checkpoint.restore(path).expect_partial().assert_existing_objects_matched()
    except (AssertionError, ValueError) as error:
        reason = str(error).strip().split("\n", 1)[0]
        raise CheckpointMismatchError(f"{problem} ({reason}). {advice}") from error


class CheckpointCallback(keras.callbacks.Callback):
    """Saves a checkpoint at the end of every epoch and of training."""

    def __init__(self, checkpointer):
        super().__init__()
        self.checkpointer = checkpointer

    def on_epoch_end(self, epoch, logs=None):
        self.checkpointer.save()


def step_of(path):
    """The step a checkpoint path such as ".../ckpt-1500" was saved at."""
    return int(path.rsplit("-", 1)[1])


def latest_step(directory):
    """The step of the newest checkpoint in `directory` (0 if none), without loading it."""
    path = tf.train.latest_checkpoint(directory)
    return step_of(path) if path else 0


def checkpoint_directory(workdir):
    """The checkpoint folder of a run."""
    return os.path.join(workdir, "checkpoints")


def best_checkpoint_directory(workdir):
    """The folder of the best checkpoint seen during training (`train.track_best`)."""
    return os.path.join(workdir, "best_checkpoint")
