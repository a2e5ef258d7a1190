"""Stride-1 convolutions computed as image patches times the kernel matrix (im2col).

F's fc6 is a 7x7 convolution from 512 to 4096 channels on a map 1/32 of the image's
sides (5x10 positions at 320x160, 16x32 at 1024x512), and G's first layer a 7x7
transposed convolution from fc7's 4096 channels to 256 on the same map. On so few
positions oneDNN's convolution kernels run far below its matrix product
(docs/performance.md, 2026-12-03): most of a kernel's taps fall on padding, and the
filter gradient of 51-102M weights is the bulk of the work. The same function written as
one matrix product, [positions, 7*7*in] times [7*7*in, out], runs on the matrix kernel
instead, forward and backward.

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
class PatchMatmulConv2DTranspose(keras.layers.Conv2DTranspose):
    """`keras.layers.Conv2DTranspose`, stride 1, "same", odd kernel, as patches times a
    matrix.

    With stride 1 and "same" padding of an odd kernel, the transposed convolution is the
    convolution with the kernel flipped in space and its two channel axes swapped (Keras
    keeps a transposed kernel as [kh, kw, out, in]).

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
        kernel = tf.transpose(tf.reverse(self.kernel, axis=[0, 1]), [0, 1, 3, 2])
        outputs = patch_matmul(inputs, kernel)
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
    products = tf.linalg.matmul(tf.reshape(patches, [-1, depth]),
                                tf.reshape(kernel, [depth, filters]))
    return tf.reshape(products, tf.concat([tf.shape(patches)[:3], [filters]], 0))
