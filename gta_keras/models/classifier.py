"""The classifier C: the FCN-8s head on F's fc7, pool4 and pool3."""

import keras
import numpy as np


@keras.saving.register_keras_serializable(package="gta_keras")
class BilinearUpsampling(keras.initializers.Initializer):
    """Initialises a transposed convolution as bilinear interpolation, channel by channel.

    FCN starts its upsampling layers this way (and the reference code keeps them frozen),
    so that C is a plain bilinear upsampler of the class scores at step 0.
    """

    def __call__(self, shape, dtype=None):
        kernel_h, kernel_w, out_channels, in_channels = shape
        if out_channels != in_channels:
            raise ValueError(
                f"Bilinear initialisation needs as many output as input channels, got "
                f"{out_channels} and {in_channels}."
            )
        factor_h = _bilinear_1d(kernel_h)
        factor_w = _bilinear_1d(kernel_w)
        kernel = np.zeros(shape, dtype="float32")
        for c in range(in_channels):
            kernel[:, :, c, c] = np.outer(factor_h, factor_w)
        return keras.ops.convert_to_tensor(kernel, dtype=dtype or "float32")

    def get_config(self):
        return {}


def _bilinear_1d(size):
    factor = (size + 1) // 2
    center = factor - 1 if size % 2 == 1 else factor - 0.5
    return 1 - np.abs(np.arange(size) - center) / factor


def build_classifier(num_classes, fc_width, pool4_channels, pool3_channels,
                     train_upsampling=False, name="classifier"):
    """Builds C.

    1x1 score layers on fc7, pool4 and pool3; 2x, 2x and 8x transposed convolutions
    initialised bilinear; the scores are fused FCN-8s style and end at input size.

    Args:
      num_classes: number of output classes.
      fc_width: channels of F's fc7.
      pool4_channels: channels of F's pool4.
      pool3_channels: channels of F's pool3.
      train_upsampling: whether the bilinear upsampling layers learn; frozen in the
        reference code.
      name: model name.

    Returns:
      A functional `keras.Model` mapping F's dict to logits [B, H, W, num_classes] at F's
      input size.
    """
    fc7 = keras.Input((None, None, fc_width), name="fc7")
    pool4 = keras.Input((None, None, pool4_channels), name="pool4")
    pool3 = keras.Input((None, None, pool3_channels), name="pool3")

    def score(x, layer_name):
        # Zero-initialised as in FCN: the head starts from "no evidence" for every class.
        return keras.layers.Conv2D(num_classes, 1, kernel_initializer="zeros",
                                   name=layer_name)(x)

    def upsample(x, factor, layer_name):
        return keras.layers.Conv2DTranspose(
            num_classes, 2 * factor, strides=factor, padding="same", use_bias=False,
            kernel_initializer=BilinearUpsampling(), trainable=train_upsampling,
            name=layer_name)(x)

    x = upsample(score(fc7, "score_fr"), 2, "upscore2")
    x = keras.layers.Add(name="fuse_pool4")([x, score(pool4, "score_pool4")])
    x = upsample(x, 2, "upscore_pool4")
    x = keras.layers.Add(name="fuse_pool3")([x, score(pool3, "score_pool3")])
    logits = upsample(x, 8, "upscore8")
    return keras.Model({"fc7": fc7, "pool4": pool4, "pool3": pool3}, logits, name=name)
