"""Initialises the embedder from ImageNet VGG16 weights."""

import os

import keras
import numpy as np

from gta_keras.models import embedder as embedder_lib


def load_vgg16(weights):
    """Loads the Keras VGG16 with its fully connected top.

    Args:
      weights: "imagenet" (downloaded by Keras, needs network access) or the path to a Keras
        VGG16 weights file with top (e.g. `vgg16_weights_tf_dim_ordering_tf_kernels.h5`).

    Returns:
      The VGG16 `keras.Model`.

    Raises:
      FileNotFoundError: when `weights` is neither "imagenet" nor an existing file.
    """
    if weights != "imagenet" and not os.path.exists(weights):
        raise FileNotFoundError(
            f"VGG16 weights {weights!r} not found. Pass 'imagenet' to let Keras download "
            "them, or the path of a Keras VGG16 weights file with top "
            "(vgg16_weights_tf_dim_ordering_tf_kernels.h5)."
        )
    return keras.applications.VGG16(weights=weights, include_top=True)


def initialize_embedder_from_vgg16(embedder, weights):
    """Copies VGG16 weights into F: conv layers as they are, fc1/fc2 into fc6/fc7.

    fc1 acts on pool5 flattened in (row, column, channel) order, so its kernel
    [7*7*512, 4096] reshapes exactly into a 7x7x512x4096 convolution; fc2 becomes 1x1.

    Args:
      embedder: an F built with width_multiplier=1 and fc_width=4096.
      weights: see `load_vgg16`.

    Raises:
      ValueError: when F's layer shapes do not match VGG16's (a width multiplier != 1).
    """
    vgg = load_vgg16(weights)
    for block, num_convs, _ in embedder_lib.VGG16_BLOCKS:
        for i in range(1, num_convs + 1):
            name = f"block{block}_conv{i}"
            _assign(embedder.get_layer(name), vgg.get_layer(name).get_weights())
    for fc_name, conv_name in (("fc1", "fc6"), ("fc2", "fc7")):
        kernel, bias = vgg.get_layer(fc_name).get_weights()
        conv = embedder.get_layer(conv_name)
        if kernel.size == np.prod(conv.kernel.shape):
            kernel = kernel.reshape(conv.kernel.shape)
        _assign(conv, [kernel, bias])


def _assign(layer, values):
    expected = [tuple(w.shape) for w in layer.weights]
    given = [tuple(v.shape) for v in values]
    if expected != given:
        raise ValueError(
            f"Cannot load VGG16 weights into {layer.name}: shapes {given} do not fit "
            f"{expected}. ImageNet initialisation needs embedder.width_multiplier = 1.0 "
            "and embedder.fc_width = 4096."
        )
    layer.set_weights(values)
