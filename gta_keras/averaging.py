"""An exponential moving average (Polyak averaging) of the segmenter's weights.

Adversarial training does not settle: F and C's weights keep moving with D and G, so the
mIoU of the step a run stops at is noisy. The average of the recent weights is a smoother
segmenter. With `compile_model.segmenter_ema_decay = d`, every applied update of F and C
also moves a float32 shadow s of each trainable weight w of F and C:

    s <- s - (1 - d_n) (s - w),    d_n = min(d, (1 + n) / (10 + n)),

where n counts the shadow's earlier updates (TensorFlow's `ExponentialMovingAverage` with
`num_updates`). The shadows start as the weights when training starts (after a warm
start, the warm-started weights). Once n > (10 d - 1) / (1 - d), d_n = d and the shadow
averages about the last 1 / (1 - d) steps (0.99: 100 steps); before, the warm-up averages
about the last tenth of the steps so far, so the starting weights fade out quickly. Why the
warm-up: with a constant d the starting (random or ImageNet) weights keep d^n of the
average; 0.999 over the demo's 1,500 steps would keep 22 % of them.

G and D are not averaged: they only train F and C. Evaluation, checkpoint selection, the
training-time scores and the export score the shadows (`weights_in`); the training weights
themselves are never overwritten, so training continues on them.

Why not Keras' own `Optimizer(use_ema=True, ema_overwrite_frequency=None)` with
`finalize_variable_values`: it would be checkpointed with the optimizers, but F and C are
split between two optimizers (kernels and biases), so the average would live in two
optimizers' private slot lists; `finalize_variable_values` overwrites the training
weights for good, while scoring during training (`train.track_best`, the health score)
needs the average in F and C and then the training weights back to go on; its first
update copies the weights and then keeps a constant momentum (the share of the first
weights, as above); and its averages start at zero and its first update is the one at
`iterations == 0`, so a first step skipped by `skip_nonfinite_steps` (which advances
`iterations`) would leave zeros in the average. Its own variables, checkpointed beside the
players, and one exchange of weights and shadows for scoring are simpler to get right.
"""

import contextlib

import tensorflow as tf

from gta_keras import errors

WEIGHTS = ("ema", "raw")
# The checkpoint's name for the average (`checkpoints.Checkpointer`).
CHECKPOINT_KEY = "segmenter_average"
_DECAY_KEY = f"{CHECKPOINT_KEY}/recorded_decay/.ATTRIBUTES/VARIABLE_VALUE"


def check_decay(decay):
    """Raises a ConfigurationError unless `decay` is None (off) or a number in (0, 1)."""
    if decay is None:
        return
    if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 < decay < 1:
        raise errors.ConfigurationError(
            f"compile_model.segmenter_ema_decay = {decay!r} must be None (off) or a "
            "number between 0 and 1 (0.99 averages about the last 100 steps).")


def resolve(weights, decay, parameter="evaluate.weights"):
    """Which weights of F and C are scored and exported: "ema" or "raw".

    Args:
      weights: `evaluate.weights` (or `export.weights`): "ema", "raw" or None (the
        default).
      decay: the run's `compile_model.segmenter_ema_decay` (None when off).
      parameter: the binding `weights` comes from, for the messages.

    Returns:
      `weights`, or for None "ema" when the run averages and "raw" when not.

    Raises:
      errors.ConfigurationError: an unknown choice, or "ema" for a run without an
        average.
    """
    if weights is None:
        return "raw" if decay is None else "ema"
    if weights not in WEIGHTS:
        raise errors.ConfigurationError(
            f"{parameter} = {weights!r} is not one of {WEIGHTS} (or None: the average when "
            "the run keeps one).")
    if weights == "ema" and decay is None:
        raise errors.ConfigurationError(
            f"{parameter} = 'ema' names the moving average of F and C, which this run "
            "does not keep: set compile_model.segmenter_ema_decay (e.g. 0.99) when "
            f"training, or use the raw weights ({parameter} = 'raw').")
    return weights


def describe(weights):
    """How messages name `weights` ("ema" or "raw")."""
    return ("the moving average of F and C's weights" if weights == "ema"
            else "F and C's training weights")


def saved_decay(path):
    """The decay of the average a checkpoint holds, or None if it holds none."""
    reader = tf.train.load_checkpoint(path)
    if not reader.has_tensor(_DECAY_KEY):
        return None
    return float(reader.get_tensor(_DECAY_KEY))


class WeightAverage(tf.Module):
    """Float32 shadows of a fixed list of variables, moved by `update` (module docstring).

    The variables themselves are not kept here (a tracked reference would put them into
    the checkpoint a second time): every method takes them, always the same list in the
    same order (`DomainAdaptationModel.player_variables("segmenter")`).

    Under a `tf.distribute` strategy, make it in the strategy's scope: its variables are
    then mirrored, and written from the first replica only ("only_first_replica"), whose
    weights every replica shares after the optimizers' synchronous update; the replicas'
    copies stay identical, without an all-reduce.

    Args:
      variables: the averaged variables (float); the shadows start as their values.
      decay: d, in (0, 1).
    """

    def __init__(self, variables, decay):
        super().__init__(name=CHECKPOINT_KEY)
        check_decay(decay)
        self.decay = float(decay)
        first = tf.VariableAggregation.ONLY_FIRST_REPLICA
        # Saved for the record: a checkpoint says which decay its shadows were made with.
        self.recorded_decay = tf.Variable(self.decay, dtype=tf.float64, trainable=False,
                                          name="decay", aggregation=first)
        self.updates = tf.Variable(0, dtype=tf.int64, trainable=False, name="updates",
                                   aggregation=first)
        self.shadows = [tf.Variable(tf.cast(v, tf.float32), trainable=False,
                                    name="shadow", aggregation=first) for v in variables]
        self._swapped = False

    @property
    def swapped(self):
        """Whether the shadows are in the variables now (inside `swapped_in`)."""
        return self._swapped

    def rate(self):
        """d_n = min(d, (1 + n) / (10 + n)), float32."""
        n = tf.cast(self.updates, tf.float32)
        return tf.minimum(tf.constant(self.decay, tf.float32), (1.0 + n) / (10.0 + n))

    def update(self, variables):
        """s <- s - (1 - d_n) (s - w) for each variable w; n += 1."""
        keep = 1.0 - self.rate()
        for shadow, variable in zip(self.shadows, variables, strict=True):
            # This form leaves s exactly w when they are equal (a weight that no gradient
            # reached), where d s + (1 - d) w may round.
            shadow.assign_sub(keep * (shadow - tf.cast(variable, tf.float32)))
        self.updates.assign_add(1)

    def reset(self, variables):
        """Restarts the average from the variables' current values (after a warm start)."""
        for shadow, variable in zip(self.shadows, variables, strict=True):
            shadow.assign(tf.cast(variable, tf.float32))
        self.updates.assign(0)

    @contextlib.contextmanager
    def swapped_in(self, variables):
        """A context in which the variables hold the shadows, and the shadows the weights.

        Each variable is exchanged with its shadow, one at a time (no second copy of the
        model in memory), and exchanged back on leaving, bit for bit: the variables are
        float32, as Keras keeps them under every dtype policy. Do not save, restore or
        train inside it (`checkpoints.Checkpointer` refuses to).
        """
        if self._swapped:
            raise RuntimeError("The average of F and C is already swapped in.")
        for variable in variables:  # All checked before any is exchanged.
            if tf.as_dtype(variable.dtype) != tf.float32:
                raise TypeError(f"{variable.path} is {variable.dtype}: only float32 "
                                "variables are exchanged exactly with their shadows.")
        self._exchange(variables)
        self._swapped = True
        try:
            yield
        finally:
            self._exchange(variables)
            self._swapped = False

    def _exchange(self, variables):
        for shadow, variable in zip(self.shadows, variables, strict=True):
            weights = tf.identity(variable)  # A copy: the read outlives the next assign.
            variable.assign(shadow)
            shadow.assign(weights)


@contextlib.contextmanager
def weights_in(model, weights):
    """A context in which `model`'s F and C hold `weights` ("ema" or "raw").

    Args:
      model: a `DomainAdaptationModel`.
      weights: "raw" (nothing changes) or "ema" (its `segmenter_average` swapped in).
    """
    if weights == "raw":
        yield
        return
    if model.segmenter_average is None:
        raise ValueError("The model keeps no moving average of F and C to score "
                         "(compile_model.segmenter_ema_decay is None).")
    with model.segmenter_average.swapped_in(model.player_variables("segmenter")):
        yield
