"""Checkpoints of F, C, G, D and every optimizer, and resuming from them.

Keras 3 does not track optimizers kept as model attributes, so `model.save_weights` would
lose the optimizer state of an alternating GAN; a `tf.train.Checkpoint` names each part.
"""

import os

import keras
import tensorflow as tf


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
          FileNotFoundError: if `require` and there is no checkpoint.
        """
        path = self.manager.latest_checkpoint
        if path is None:
            if require:
                raise FileNotFoundError(
                    f"No checkpoint in {self.manager.directory}. Train first (--mode=train) "
                    "or point --workdir at a trained run.")
            return None
        # Parts a method does not use (G and D for source_only) may be in the file.
        self.checkpoint.restore(path).expect_partial().assert_existing_objects_matched()
        return path


class CheckpointCallback(keras.callbacks.Callback):
    """Saves a checkpoint at the end of every epoch and of training."""

    def __init__(self, checkpointer):
        super().__init__()
        self.checkpointer = checkpointer

    def on_epoch_end(self, epoch, logs=None):
        self.checkpointer.save()


def latest_step(directory):
    """The step of the newest checkpoint in `directory` (0 if none), without loading it."""
    path = tf.train.latest_checkpoint(directory)
    return int(path.rsplit("-", 1)[1]) if path else 0


def checkpoint_directory(workdir):
    """The checkpoint folder of a run."""
    return os.path.join(workdir, "checkpoints")
