"""Checkpoints of F, C, G, D, every optimizer and F and C's moving average; resuming.

Keras 3 does not track optimizers kept as model attributes, so `model.save_weights` would
lose the optimizer state of an alternating GAN; a `tf.train.Checkpoint` names each part.
"""

import copy
import errno
import os

from absl import logging
import keras
import numpy as np
import tensorflow as tf

from gta_keras import averaging
from gta_keras import workdir_lock


class CheckpointMismatchError(ValueError):
    """A checkpoint does not fit the model and optimizers built from the gin config."""


class CheckpointNotFoundError(FileNotFoundError):
    """There is no checkpoint where one is needed."""


class CorruptCheckpointError(ValueError):
    """No kept checkpoint can be read (truncated or damaged files)."""


class DivergenceError(RuntimeError):
    """A loss became NaN or infinite; training stopped without saving that state."""


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
        if model.segmenter_average is not None:  # Only then: old runs' files still fit.
            parts[averaging.CHECKPOINT_KEY] = model.segmenter_average
        self.model = model
        # Dropout's random states (keras SeedGenerator variables, not among the weights):
        # with them a resumed run draws the masks the uninterrupted run would have drawn.
        self.seed_states = seed_states(model)
        self.checkpoint = tf.train.Checkpoint(**parts, seed_states=self.seed_states)
        # Restored apart, so that checkpoints written before seed states were saved
        # still restore (their dropout then draws other masks).
        self._parts = tf.train.Checkpoint(**parts)
        self._seeds = tf.train.Checkpoint(seed_states=self.seed_states)
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
        """Saves a checkpoint numbered by the current step; returns its path.

        Raises:
          workdir_lock.WorkdirError: the files cannot be written (a full disk, a folder
            made read-only); what the write left of this checkpoint is deleted, so the
            previous checkpoint stays the newest, and the message names it.
        """
        self._check_not_swapped("save")
        try:
            return self.manager.save(checkpoint_number=self.step)
        except (OSError, tf.errors.ResourceExhaustedError,
                tf.errors.PermissionDeniedError) as error:
            raise self._failed_save(error) from error

    def _failed_save(self, error):
        """Deletes what a failed `save` left of its checkpoint; returns the error to raise."""
        # TensorFlow renames the `checkpoint` index into place after the data and index
        # files are complete, so the previous checkpoint is still the newest on disk; only
        # this one's partial files (and temp folder) are left to remove, which also gives
        # back what they took of a full disk.
        directory = self.manager.directory
        prefix = os.path.join(directory, f"ckpt-{self.step}")
        state = tf.train.get_checkpoint_state(directory)
        if not state or prefix not in state.all_model_checkpoint_paths:
            for path in tf.io.gfile.glob(prefix + ".*") + tf.io.gfile.glob(prefix + "_temp*"):
                if tf.io.gfile.isdir(path):
                    tf.io.gfile.rmtree(path)
                else:
                    tf.io.gfile.remove(path)
        reason = getattr(error, "strerror", None) or str(error).strip().split("\n", 1)[0]
        full = (isinstance(error, tf.errors.ResourceExhaustedError)
                or getattr(error, "errno", None) in (errno.ENOSPC, errno.EDQUOT))
        previous = tf.train.latest_checkpoint(directory)
        resumes = (f"training resumes from {previous} (step {step_of(previous)})" if previous
                   else "training starts again from step 0 (no checkpoint was written yet)")
        todo = "Free space" if full else f"Make {directory} writable"
        return workdir_lock.WorkdirError(
            f"Cannot write the checkpoint of step {self.step} into {directory} ({reason}); "
            f"its partial files are deleted. {todo} and rerun: {resumes}.")

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
        newest_first = self.paths[::-1]
        latest = self.manager.latest_checkpoint
        if latest and latest not in newest_first:
            newest_first.insert(0, latest)
        if not newest_first:
            if require:
                raise CheckpointNotFoundError(
                    f"No checkpoint in {self.manager.directory}. Train first (--mode=train) "
                    "or point --workdir at a trained run.")
            return None
        # A kill while a checkpoint is written leaves the `checkpoint` index naming the
        # previous one (TensorFlow renames it into place last); damaged files (a full disk,
        # a copy cut short) fall back to the next older checkpoint.
        errors = []
        for path in newest_first:
            try:
                self.restore(path)
            except CorruptCheckpointError as error:
                errors.append(str(error))
                logging.warning("%s; trying the previous checkpoint.", error)
                print(f"gta_keras: {error}; trying the previous checkpoint.", flush=True)
                continue
            if errors:
                print(f"gta_keras: resumed from the older checkpoint {path} (step "
                      f"{step_of(path)}).", flush=True)
            return path
        raise CorruptCheckpointError(
            f"No checkpoint in {self.manager.directory} can be read: {errors[0]}. Delete the "
            "damaged files (or the folder) to start over, or restore a copy.")

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
        self._check_not_swapped("restore")
        # Parts a method does not use (G and D for source_only) may be in the file.
        try:
            _check_average(path, self.model.segmenter_average)
            _restore(self._parts, path,
                     problem=f"{path} does not fit the model and optimizers built from "
                     "this gin configuration",
                     advice="Use the gin files and bindings the run was trained with; they "
                     "are in its operative_config.gin.")
            self._seeds.restore(path).expect_partial()
            # The file's save counter, read through the other root, so that saves go on
            # counting as in the uninterrupted run.
            self.checkpoint.save_counter.assign(self._parts.save_counter)
        except (tf.errors.OpError, IndexError) as error:
            # Truncated or damaged files: DataLossError, or IndexError ("Read less bytes
            # than requested") from TensorFlow's checkpoint reader.
            reason = str(error).strip().split("\n", 1)[0]
            raise CorruptCheckpointError(f"Checkpoint {path} is damaged ({reason})") from error
        return path

    def _check_not_swapped(self, action):
        """Refuses to save or restore while F and C hold their average: the file would
        swap weights and shadows, and so would leaving the swap after a restore."""
        average = self.model.segmenter_average
        if average is not None and average.swapped:
            raise RuntimeError(f"Cannot {action} a checkpoint while F and C hold their "
                               "moving average (inside `averaging.weights_in`).")


def _check_average(path, average):
    """Raises `CheckpointMismatchError` unless the checkpoint at `path` holds the moving
    average of F and C that the model keeps (`average`), with the same decay, or neither
    keeps one.

    A clear refusal rather than a silent choice: a model without an average would
    otherwise score, resume and export the raw weights of a run made to be scored by its
    average, and a model with one would need shadows the file does not have.
    """
    saved = averaging.saved_decay(path)
    configured = None if average is None else average.decay
    if saved == configured:
        return
    advice = ("Use the gin files and bindings the run was trained with; they are in its "
              "operative_config.gin.")
    if saved is None:
        raise CheckpointMismatchError(
            f"{path} holds no moving average of F and C: its run was trained without "
            f"compile_model.segmenter_ema_decay, which this configuration sets to "
            f"{configured}. Unset it to resume, evaluate or export that run. {advice}")
    if configured is None:
        raise CheckpointMismatchError(
            f"{path} holds the moving average of F and C of "
            f"compile_model.segmenter_ema_decay = {saved}, which this configuration does "
            "not set. Set it to resume, evaluate or export that run; to score its raw "
            f"weights, set it and bind evaluate.weights = 'raw'. {advice}")
    raise CheckpointMismatchError(
        f"{path} holds the moving average of F and C of compile_model.segmenter_ema_decay "
        f"= {saved}, not {configured} as this configuration sets. {advice}")


def warm_start(model, source):
    """Initialises F and C from another run's checkpoint; G, D and optimizers stay fresh.

    Meant for adapting from a trained segmenter (e.g. a `source_only` run): only the
    embedder and classifier are read (their training weights, not a moving average the
    run may keep), so a checkpoint with or without G and D serves. The model's own
    moving average of F and C, if it keeps one, restarts from the weights read.

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
    if model.segmenter_average is not None:
        model.segmenter_average.reset(model.player_variables("segmenter"))
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


def seed_states(model):
    """The random-state variables of F, C, G and D (dropout's SeedGenerators), in order,
    then the instance noise's if on."""
    states = []
    for part in (model.embedder, model.classifier, model.generator, model.discriminator):
        if part is None:
            continue
        weights = {id(w) for w in part.weights}
        states.extend(v for v in part.variables if id(v) not in weights)
    if model.d_input_noise is not None:
        states.append(model.d_input_noise.seeds.state)
    return states


class StopOnNonFinite(keras.callbacks.Callback):
    """Stops training in the step where a loss becomes NaN or infinite, before any save.

    Raises `DivergenceError` naming the loss and the step; the newest checkpoint (the
    last good state) stays the newest. Keras' TerminateOnNaN only watches a "loss" log,
    which this model has not (it logs d_loss, g_loss, f_loss, seg_loss).
    """

    def __init__(self, checkpointer):
        super().__init__()
        self.checkpointer = checkpointer

    def on_train_batch_end(self, batch, logs=None):
        for name, value in (logs or {}).items():
            if not np.all(np.isfinite(np.asarray(value, dtype=np.float64))):
                self.model.stop_training = True
                step = self.checkpointer.step
                newest = self.checkpointer.manager.latest_checkpoint
                kept = (f"the newest checkpoint, {newest} (step {step_of(newest)}), is "
                        "kept and a rerun resumes from it" if newest
                        else "no checkpoint was written")
                raise DivergenceError(
                    f"{name} became {float(np.ravel(np.asarray(value))[0])} at step {step}: "
                    f"training stopped without saving that state; {kept}. Lower the "
                    "learning rates (f/adam, g/adam, d/adam.learning_rate) or the loss "
                    "weights, or check the input data.")


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
