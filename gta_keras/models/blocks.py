"""Building blocks shared by the generator and the discriminator."""

import keras


def scaled_width(filters, width_multiplier):
    """Scales a layer width, keeping at least one filter.

    Args:
      filters: the width in the paper's configuration.
      width_multiplier: 1.0 for the paper; smaller for CPU-sized configurations.

    Returns:
      The scaled number of filters.
    """
    return max(1, int(round(filters * width_multiplier)))


def instance_norm(name):
    """Instance normalisation as Keras 3 spells it.

    tensorflow-addons' InstanceNormalization no longer imports on TF 2.21; a group norm
    with one group per channel normalises each channel of each image on its own, which is
    the same function.

    Args:
      name: layer name.

    Returns:
      A `keras.layers.GroupNormalization` layer.
    """
    return keras.layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)


def residual_block(x, activation, dropout_rate, name):
    """`x + Dropout(act(InstanceNorm(Conv3x3(x))))`, the block of G and D.

    Args:
      x: input tensor [B, H, W, C].
      activation: "relu" (generator) or "leaky_relu" (discriminator, slope 0.2).
      dropout_rate: dropout after the activation; the generator's only noise source.
      name: prefix for the block's layer names.

    Returns:
      A tensor shaped like `x`.
    """
    channels = x.shape[-1]
    # No bias: the instance norm right after removes any per-channel constant.
    y = keras.layers.Conv2D(channels, 3, padding="same", use_bias=False,
                            name=f"{name}_conv")(x)
    y = instance_norm(f"{name}_norm")(y)
    y = _activation(activation, f"{name}_act")(y)
    y = keras.layers.Dropout(dropout_rate, name=f"{name}_dropout")(y)
    return keras.layers.Add(name=f"{name}_add")([x, y])


def _activation(kind, name):
    if kind == "relu":
        return keras.layers.ReLU(name=name)
    if kind == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=0.2, name=name)
    raise ValueError(f"Unknown activation {kind!r}; use 'relu' or 'leaky_relu'.")


def norm_act(x, activation, name):
    """InstanceNorm then activation, after every non-final conv of G and D."""
    x = instance_norm(f"{name}_norm")(x)
    return _activation(activation, f"{name}_act")(x)
