"""Tiny models and batches shared by the tests (a few thousand parameters, 32x64 images)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gta_keras import configurables
from gta_keras.models import factory

NUM_CLASSES = 5
IMAGE_SIZE = (32, 64)
EMBEDDER = factory.EmbedderConfig(width_multiplier=1 / 32, fc_width=8)
# For tests that compare two ways of computing training steps (`assert_same_training`):
# twice IMAGE_SIZE's sides. At 32x64, G's first stage works on fc7's 1x2 map, and its
# instance norms normalise two values per channel: the gradient of the convolution
# before them is mostly cancellation, and Adam turns its rounding into visible updates.
# On an AVX2-only AMD EPYC one such kernel (stage1_res1_conv, with two blocks per
# stage) ended 1.08e-3 of its update apart with the patch-matmul layers (4.8e-4 with
# fused Adam) while every other variable stayed under 2e-4; at 64x128 (a 2x4 map) all
# stay under 2e-4 there, in the same time (eager steps of a tiny model cost their
# Python, not their pixels).
COMPARISON_SIZE = (64, 128)
# G and D with one residual block per stage (the paper has 2 and 3): every layer kind and
# code path stays (G's and D's blocks, their dropout), and the training step has about
# 14,000 graph ops instead of 23,000. Tests spend their time on those ops (tracing them,
# or running them eagerly one by one), not on pixels. A test passes its own
# `generator=` / `discriminator=` config where it needs another depth.
PLAYERS = {"generator": factory.GeneratorConfig(blocks_per_stage=1),
           "discriminator": factory.DiscriminatorConfig(blocks_per_stage=1)}


def model(method="lsd", seed=0, **kwargs):
    """A compiled tiny `DomainAdaptationModel`, its weights drawn from `seed`.

    Seeded because a model this narrow (fc7 has 8 units) can start with every fc7 ReLU
    dead on a random batch: then block5, fc6 and fc7 get no gradient. Unseeded, that
    happened in about 1 of 20 draws and failed tests of which variables a step moves.
    """
    keras.utils.set_random_seed(seed)
    built = factory.build_model(num_classes=NUM_CLASSES, method=method,
                                embedder=EMBEDDER, **{**PLAYERS, **kwargs})
    # An optimizer for each player the method has. Eager: one step of a tiny model runs
    # faster than tracing it into a graph.
    built.compile(configurables.adam(1e-3),
                  configurables.adam(1e-3) if "generator" in built.players else None,
                  configurables.adam(1e-3) if "discriminator" in built.players else None,
                  run_eagerly=True)
    return built


def batch(batch_size=2, seed=0, image_size=IMAGE_SIZE):
    """A (source images, source labels, target images) triplet of random data."""
    rng = np.random.default_rng(seed)
    shape = (batch_size,) + tuple(image_size)
    source = rng.uniform(0, 255, shape + (3,)).astype("float32")
    labels = rng.integers(0, NUM_CLASSES, shape + (1,)).astype("uint8")
    labels[:, :2] = 255  # some void
    target = rng.uniform(0, 255, shape + (3,)).astype("float32")
    return tf.constant(source), tf.constant(labels), tf.constant(target)


def snapshot(variables):
    """Copies of variable values, for before/after comparisons."""
    return [v.numpy().copy() for v in variables]


def assert_same_training(losses, weights, plain_losses, plain_weights, initial,
                         update_tolerance, loss_tolerance=1e-4):
    """Asserts that a run took the plain run's steps, within float tolerance.

    Args:
      losses, plain_losses: each step's loss dicts of the two runs.
      weights, plain_weights: their trainable variables' values after the steps.
      initial: the values before the steps (the same for both runs).
      update_tolerance: how far each variable may end from the plain run's, as a
        fraction of the plain run's whole update of it (norms). After the first step the
        runs' gradients differ by the first update's rounding, and Adam divides each
        gradient by its own scale, so one weight can move a visible part of a step apart.
      loss_tolerance: relative tolerance of every loss.
    """
    for got, want in zip(losses, plain_losses, strict=True):
        assert got.keys() == want.keys()
        for name in want:
            assert got[name] == pytest.approx(want[name], rel=loss_tolerance), name
    moved = 0
    for got, want, start in zip(weights, plain_weights, initial, strict=True):
        update = np.linalg.norm(want - start)
        difference = np.linalg.norm(got - want)
        assert difference <= update_tolerance * update + 1e-7, (difference, update)
        moved += update > 0
    assert moved > 20  # the steps moved the players


# A control run's learning rate: the plain one's times this, a change of the size of a
# computation's rounding (the fused Adam's steps differ from Keras' by about 1e-5).
CONTROL_LR_FACTOR = 1 + 1e-5


def comparable_seed(train, update_tolerance, seeds=(0, 1, 2, 3)):
    """The first seed at which training steps can be compared with `assert_same_training`.

    Near some points of a tiny model's training, a ReLU or max-pool decision lies within
    rounding of its threshold, and any other rounding flips it and moves later steps by
    percents. On an AMD EPYC Zen 5 (TensorFlow's oneDNN kernels, its default there), a
    learning rate 1e-5 larger, the code otherwise unchanged, moved the weights after three
    steps by up to 19% of their update at seed 0 and 1.5-2.4% at seeds 2 and 3, 7e-5 at seed 1;
    with Eigen's kernels, on the same machine, 7e-5 at seed 0. Two computations can only
    be compared where such a change moves nothing beyond `update_tolerance`.

    Args:
      train: `train(seed, learning_rate)` -> (losses, weights, initial) of the plain run.
      update_tolerance: as in `assert_same_training`.
      seeds: tried in order.

    Returns:
      (seed, (losses, weights, initial) of the plain run at that seed).
    """
    for seed in seeds:
        plain = train(seed, 1e-3)
        control_losses, control_weights, _ = train(seed, 1e-3 * CONTROL_LR_FACTOR)
        try:
            assert_same_training(control_losses, control_weights, *plain,
                                 update_tolerance=update_tolerance)
        except AssertionError:
            continue
        return seed, plain
    raise AssertionError(f"At none of the seeds {seeds} does a learning rate "
                         f"{CONTROL_LR_FACTOR} times larger keep the weights within "
                         f"{update_tolerance} of their update: no comparison is possible.")


def changed(before, variables):
    """Whether each variable differs from its snapshot."""
    return [not np.array_equal(b, v.numpy()) for b, v in zip(before, variables)]


def step_losses(model, steps, image_size=IMAGE_SIZE):
    """Calls `model.train_step` on `batch(seed=0)`, `batch(seed=1)`, ... of `image_size`;
    each step's losses as floats."""
    return [{name: float(value)
             for name, value in model.train_step(batch(seed=s, image_size=image_size)).items()}
            for s in range(steps)]


def train_one_step(model, triplet):
    """Runs one `train_step` through Keras `fit`, as training does; returns its logs."""
    history = model.fit(tf.data.Dataset.from_tensors(triplet), epochs=1, verbose=0)
    return {name: values[-1] for name, values in history.history.items()}


def poison_loss(model, step, player_loss):
    """Makes `model`'s `player_loss` NaN in training step `step` (1-based: while F's
    optimizer has taken step - 1 steps), in place; returns the model."""
    real = model.compute_losses

    def compute_losses(*args, **kwargs):
        step_losses = real(*args, **kwargs)
        bad = tf.equal(model.f_optimizer.iterations, step - 1)
        step_losses[player_loss] += tf.where(bad, np.float32(np.nan), np.float32(0))
        return step_losses

    model.compute_losses = compute_losses
    return model
