"""Adam whose update of each variable is one fused TensorFlow kernel.

Keras 3's `keras.optimizers.Adam` writes the update as separate tensor ops (subtract,
multiply, square, sqrt, divide, three assignments): about ten passes over every variable
and its two moments. The paper's model has about 200 million weights (fc6 alone 103
million), so on a CPU those memory-bound passes were 14% of the op time of a 320x160 lsd
step (docs/performance.md). `ResourceApplyAdam`, the kernel Keras 2's TensorFlow Adam
called, does the same update in one multi-threaded pass:

    m <- m + (g - m) * (1 - beta_1)
    v <- v + (g^2 - v) * (1 - beta_2)
    w <- w - (m * alpha) / (sqrt(v) + epsilon),  alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)

It is the same formula as Keras 3's, not the same rounding: the kernel subtracts the
float32 betas from 1 (1 - 0.999f = 0.00099998713) where Keras rounds Python's `1 - 0.999`
to float32 (0.001), so the steps differ by up to about 1e-5 of their size
(tests/test_fused_adam.py bounds it): a numerically different run, not another method.
Its slots, name and config are Keras Adam's, so checkpoints are interchangeable.
"""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="gta_keras")
class FusedAdam(keras.optimizers.Adam):
    """`keras.optimizers.Adam` whose per-variable update is TF's `ResourceApplyAdam`.

    Only the plain update is fused: with `amsgrad` the Keras update runs.
    """

    def __init__(self, *args, name="adam", **kwargs):
        # Keras' Adam's name, so that the slots' paths are the same.
        super().__init__(*args, name=name, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad:
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        local_step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        return tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].handle,
            v=self._velocities[index].handle,
            beta1_power=tf.pow(beta_1, local_step), beta2_power=tf.pow(beta_2, local_step),
            lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype))
