"""Stride-1 convolutions on F's small 1/32 map, computed as one matrix product each.

F's fc6 is a 7x7 convolution from 512 to 4096 channels on a map 1/32 of the image's
sides (5x10 positions at 320x160, 16x32 at 1024x512), and G's first layer a 7x7
transposed convolution from fc7's 4096 channels to 256 on the same map. On so few
positions oneDNN's convolution kernels run far below its matrix product
(docs/performance.md, 2026-12-03 and 2026-12-07): most of a kernel's taps fall on
padding, and the gradient of 51-102M weights is the bulk of the work. Written as matrix
products they run on the matrix kernel instead, forward and backward:

- a convolution as patches times the kernel matrix (im2col): [positions, kh*kw*in] times
  [kh*kw*in, out];
- a transposed convolution as every position times the kernel matrix, [positions, in]
  times [in, kh*kw*out], whose kh*kw taps are then added at their shifted places
  (col2im): no patches of fc7's 4096 channels (411 MB at 1024x512) are made.

The layers are a `keras.layers.Conv2D` and a `keras.layers.Conv2DTranspose` with the
same variables (kernel, bias), so checkpoints, ImageNet initialisation and layer names do
not change; only how the convolution is computed does, and with it the order of the
float sums.
"""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="gta_keras")  # Configs round-trip.
class PatchMatmulConv2D(keras.layers.Conv2D):
    """`keras.layers.Conv2D`, stride 1, computed as patches times the kernel matrix.

    `tf.image.extract_patches` with "SAME" padding lays each position's kh x kw x in
    neighbourhood out in the kernel's own (row, column, channel) order, so the kernel
    reshaped to [kh * kw * in, out] multiplies it directly. A 1x1 kernel needs no patches.

    Args:
      filters, kernel_size, **kwargs: as `keras.layers.Conv2D`; strides and dilation 1,
        channels last, and "same" padding unless the kernel is 1x1.
    """

    def __init__(self, filters, kernel_size, **kwargs):
        super().__init__(filters, kernel_size, **kwargs)
        one_by_one = tuple(self.kernel_size) == (1, 1)
        if (tuple(self.strides) != (1, 1) or tuple(self.dilation_rate) != (1, 1)
                or self.data_format != "channels_last"
                or (self.padding != "same" and not one_by_one)):
            raise ValueError(
                f"{type(self).__name__} {self.name!r} computes only stride-1, undilated, "
                "channels-last convolutions with 'same' padding (any padding for 1x1); "
                "use keras.layers.Conv2D for the others.")

    def convolution_op(self, inputs, kernel):
        return patch_matmul(inputs, kernel)


@keras.saving.register_keras_serializable(package="gta_keras")
class MatmulConv2DTranspose(keras.layers.Conv2DTranspose):
    """`keras.layers.Conv2DTranspose`, stride 1, "same", odd kernel, as one matrix
    product and a shifted sum of its taps (`tap_matmul_transpose`).

    Args:
      filters, kernel_size, **kwargs: as `keras.layers.Conv2DTranspose`; strides and
        dilation 1, channels last, "same" padding, no output padding, odd kernel sides.
    """

    def __init__(self, filters, kernel_size, **kwargs):
        super().__init__(filters, kernel_size, **kwargs)
        if (tuple(self.strides) != (1, 1) or tuple(self.dilation_rate) != (1, 1)
                or self.data_format != "channels_last" or self.padding != "same"
                or self.output_padding is not None
                or any(side % 2 == 0 for side in self.kernel_size)):
            raise ValueError(
                f"{type(self).__name__} {self.name!r} computes only stride-1, undilated, "
                "channels-last transposed convolutions with 'same' padding and odd kernel "
                "sides; use keras.layers.Conv2DTranspose for the others.")

    def call(self, inputs):
        outputs = tap_matmul_transpose(inputs, self.kernel)
        if self.use_bias:
            outputs = outputs + self.bias
        if self.activation is not None:
            return self.activation(outputs)
        return outputs


def patch_matmul(inputs, kernel):
    """The stride-1 "same" convolution of channels-last `inputs` with `kernel` [kh, kw,
    in, out], as one matrix product over the kh x kw patches."""
    rows, cols, channels, filters = kernel.shape
    patches = inputs
    if (rows, cols) != (1, 1):
        patches = tf.image.extract_patches(inputs, sizes=[1, rows, cols, 1],
                                           strides=[1, 1, 1, 1], rates=[1, 1, 1, 1],
                                           padding="SAME")
    depth = rows * cols * channels
    products = rows_times_matrix(tf.reshape(patches, [-1, depth]),
                                 tf.reshape(kernel, [depth, filters]))
    return tf.reshape(products, tf.concat([tf.shape(patches)[:3], [filters]], 0))


def tap_matmul_transpose(inputs, kernel):
    """The stride-1 "same" transposed convolution of channels-last `inputs` with an
    odd-sided `kernel` [kh, kw, out, in] (Keras' layout for transposed convolutions).

    Input position (i, j) adds `inputs[i, j] @ kernel[a, b]^T` to output position
    (i + a - kh // 2, j + b - kw // 2) for every tap (a, b). All taps come from one
    product, inputs times the kernel matrix (`rows_times_matrix_transposed`), and are
    then added at their places: each tap's map padded to its offset, the sum cropped.
    """
    rows, cols, filters, channels = kernel.shape
    shape = tf.shape(inputs)
    batch, height, width = shape[0], shape[1], shape[2]
    taps = rows_times_matrix_transposed(tf.reshape(inputs, [-1, channels]),
                                        tf.reshape(kernel, [rows * cols * filters, channels]))
    taps = tf.reshape(taps, tf.stack([batch, height, width, rows * cols, filters]))
    tap_maps = tf.unstack(taps, axis=3)  # Tap (a, b) is tap_maps[a * cols + b].
    shifted = [tf.pad(tap_maps[a * cols + b],
                      [[0, 0], [a, rows - 1 - a], [b, cols - 1 - b], [0, 0]])
               for a in range(rows) for b in range(cols)]
    top, left = rows // 2, cols // 2
    return tf.add_n(shifted)[:, top:top + height, left:left + width, :]


# Why the two products below are written the way they are: CPU matrix kernels multiply a
# short matrix (tens to hundreds of rows: fc6's positions) by a large one that must be
# transposed at a third to half of their rate, and the transposed product, large times
# short, at full rate. Measured on an AMD EPYC Zen 5, [50, 4096] x [25088, 4096]^T: 100
# GFLOP/s with oneDNN, 60-68 with Eigen, against 215-223 for the same numbers as
# ([25088, 4096] x [4096, 50])^T (docs/performance.md, 2026-12-07).

@tf.custom_gradient
def rows_times_matrix(rows, matrix):
    """`rows @ matrix` for a short `rows` [n, k] and a large `matrix` [k, m]; its
    gradient for `rows`, `upstream @ matrix^T`, is computed as
    `(matrix @ upstream^T)^T`: the same sums, on the fast side of the kernel."""
    scope = _backward_scope()

    def gradient(upstream):
        with tf.name_scope(scope):
            return (tf.transpose(tf.linalg.matmul(matrix, upstream, transpose_b=True)),
                    tf.linalg.matmul(rows, upstream, transpose_a=True))
    return tf.linalg.matmul(rows, matrix), gradient


@tf.custom_gradient
def rows_times_matrix_transposed(rows, matrix):
    """`rows @ matrix^T` for a short `rows` [n, k] and a large `matrix` [m, k], computed
    as `(matrix @ rows^T)^T`; the gradients, `upstream @ matrix` and
    `upstream^T @ rows`, without transposing `matrix` either."""
    scope = _backward_scope()

    def gradient(upstream):
        with tf.name_scope(scope):
            return (tf.linalg.matmul(upstream, matrix),
                    tf.linalg.matmul(upstream, rows, transpose_a=True))
    return tf.transpose(tf.linalg.matmul(matrix, rows, transpose_b=True)), gradient


def _backward_scope():
    """The name scope for a custom gradient's ops: "gradient_tape/<forward scope>/",
    as TensorFlow names the backward ops of built-in ones, so that profiles
    (`gta_keras/profiling.py`) count them as the layer's backward pass. A custom
    gradient's ops would otherwise be named at the graph's top level ("MatMul_32")."""
    forward = tf.get_current_name_scope()  # "" when eager
    return f"gradient_tape/{forward}/" if forward else "gradient_tape/"
