"""Instance noise: Gaussian noise on D's inputs that fades out over training.

A discriminator that tells the domains apart from the first steps makes F's
cross-domain terms large and noisy before G has learned anything (the demo's weak seed,
docs/experiments/2026-12-06-numeric-paths-avx2.md). Adding the same noise to every image D
sees, real or generated, blurs the two distributions into each other, so that D cannot be
certain early; the noise falls linearly to zero so that D's late judgement, which drives
the adaptation, is the paper's (Sønderby et al. 2017, "Amortised MAP inference for image
super-resolution"; Arjovsky and Bottou 2017). Off by default: on the demo, 0.1 falling to 0
at step 750 lowered lsd's mean more than its spread, and white noise of that size did not
hide the domains from D (docs/experiments/2026-12-07-d-input-noise.md).
"""

import keras
import tensorflow as tf

from gta_keras import errors


def check(stddev, steps):
    """Raises a ConfigurationError naming the binding unless the settings make sense."""
    if not stddev >= 0.0:
        raise errors.ConfigurationError(
            f"build_model.d_input_noise = {stddev!r}: must be >= 0 (the standard deviation "
            "of the noise on D's inputs, in units of the [0, 1] image; 0 is off).")
    if steps < 0 or int(steps) != steps:
        raise errors.ConfigurationError(
            f"build_model.d_input_noise_steps = {steps!r}: must be a whole number >= 0 "
            "(the steps over which the noise falls to 0; 0 keeps it for the whole run).")


class InstanceNoise:
    """Adds N(0, s(t)^2) noise to images, with s(t) = stddev * max(0, 1 - t / steps).

    Args:
      stddev: the standard deviation at step 0, in units of the [0, 1] image.
      steps: the step at which the noise reaches 0; 0 keeps `stddev` throughout.
      seed: the seed of its `keras.random.SeedGenerator` (None: from Keras' global seed,
        which `train.seed` sets), whose state checkpoints save so that a resumed run
        draws the noise the uninterrupted run would have drawn.
    """

    def __init__(self, stddev, steps=0, seed=None):
        check(stddev, steps)
        self.stddev = float(stddev)
        self.steps = int(steps)
        self.seeds = keras.random.SeedGenerator(seed, name="d_input_noise")

    def scale(self, step):
        """s(step): the standard deviation at a (0-based) training step, a float32 tensor."""
        if not self.steps:
            return tf.constant(self.stddev, tf.float32)
        remaining = 1.0 - tf.cast(step, tf.float32) / float(self.steps)
        return self.stddev * tf.maximum(remaining, 0.0)

    def __call__(self, images, step):
        """`images` plus noise of s(step); the noise is drawn anew for every call."""
        noise = keras.random.normal(tf.shape(images), seed=self.seeds, dtype=images.dtype)
        return images + tf.cast(self.scale(step), images.dtype) * noise
