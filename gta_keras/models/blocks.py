"""Building blocks shared by the generator and the discriminator."""

import keras
import tensorflow as tf

from gta_keras import errors


def scaled_width(filters, width_multiplier):
    """Scales a layer width, keeping at least one filter.

    Args:
      filters: the width in the paper's configuration.
      width_multiplier: 1.0 for the paper; smaller for CPU-sized configurations.

    Returns:
      The scaled number of filters.
    """
    return max(1, int(round(filters * width_multiplier)))


def instance_norm(name, affine=True):
    """Instance normalisation as Keras 3 spells it.

    tensorflow-addons' InstanceNormalization no longer imports on TF 2.21; a group norm
    with one group per channel normalises each channel of each image on its own, which is
    the same function.

    Args:
      name: layer name.
      affine: whether a per-channel scale and offset are learned after normalising
        (Keras' default); PyTorch's `InstanceNorm2d`, which the reference code uses,
        learns none.

    Returns:
      A `keras.layers.GroupNormalization` layer.
    """
    return keras.layers.GroupNormalization(groups=-1, epsilon=1e-5, center=affine,
                                           scale=affine, name=name)


def layer_norm(name, affine=True):
    """Normalisation over the channels of each pixel, on its own.

    Unlike instance norm it keeps what a whole image shares: a colour cast that shifts
    every pixel alike (a domain's palette or lighting) still reaches the next layer.

    Args:
      name: layer name.
      affine: whether a per-channel scale and offset are learned after normalising.

    Returns:
      A `keras.layers.LayerNormalization` layer over the last axis.
    """
    return keras.layers.LayerNormalization(axis=-1, epsilon=1e-5, center=affine,
                                           scale=affine, name=name)


# Normalisations of G and D: "instance" is the paper's.
NORMS = ("instance", "layer", "none")


def check_norm(norm):
    """Raises a ConfigurationError naming the choices when `norm` is not one of NORMS."""
    if norm not in NORMS:
        raise errors.ConfigurationError(f"Unknown norm {norm!r}; use one of {NORMS}.")


# Weight initialisations of G and D: Keras' default, or the reference code's
# (`models/model_utils.py`): conv weights from N(0, 0.02), biases from U(-0.01, 0.01).
INITS = ("glorot", "normal_0.02")


def check_init(init):
    """Raises a ConfigurationError naming the choices when `init` is not one of INITS."""
    if init not in INITS:
        raise errors.ConfigurationError(f"Unknown init {init!r}; use one of {INITS}.")


def conv_initializers(init="glorot"):
    """Keyword arguments `kernel_initializer` and `bias_initializer` for a conv layer.

    Args:
      init: "glorot" (Keras' default: Glorot-uniform kernels, zero biases) or
        "normal_0.02" (the reference code's DCGAN-style init).

    Returns:
      A dict to pass to `keras.layers.Conv2D` / `Conv2DTranspose`.
    """
    check_init(init)
    if init == "glorot":
        return {"kernel_initializer": "glorot_uniform", "bias_initializer": "zeros"}
    return {"kernel_initializer": keras.initializers.RandomNormal(0.0, 0.02),
            "bias_initializer": keras.initializers.RandomUniform(-0.01, 0.01)}


def conv_uses_bias(norm):
    """Whether a conv before `norm` needs a bias: both norms end with a learned shift."""
    return norm == "none"


def normalize(x, norm, name, affine=True):
    """Applies the normalisation `norm` ("instance", "layer" or "none") to `x`."""
    check_norm(norm)
    if norm == "instance":
        return instance_norm(name, affine)(x)
    if norm == "layer":
        return layer_norm(name, affine)(x)
    return x


def residual_block(x, activation, dropout_rate, name, norm="instance", norm_affine=True,
                   init="glorot"):
    """`x + Dropout(act(Norm(Conv3x3(x))))`, the block of G and D.

    Args:
      x: input tensor [B, H, W, C].
      activation: "relu" (generator) or "leaky_relu" (discriminator, slope 0.2).
      dropout_rate: dropout after the activation; the generator's only noise source.
      name: prefix for the block's layer names.
      norm: "instance" (the paper), "layer" or "none"; see `normalize`.
      norm_affine: whether the norm learns a scale and offset.
      init: the conv's initialisation; see `conv_initializers`.

    Returns:
      A tensor shaped like `x`.
    """
    channels = x.shape[-1]
    y = keras.layers.Conv2D(channels, 3, padding="same", use_bias=conv_uses_bias(norm),
                            name=f"{name}_conv", **conv_initializers(init))(x)
    y = normalize(y, norm, f"{name}_norm", norm_affine)
    y = _activation(activation, f"{name}_act")(y)
    y = keras.layers.Dropout(dropout_rate, name=f"{name}_dropout")(y)
    return keras.layers.Add(name=f"{name}_add")([x, y])


def _activation(kind, name):
    if kind == "relu":
        return keras.layers.ReLU(name=name)
    if kind == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=0.2, name=name)
    raise ValueError(f"Unknown activation {kind!r}; use 'relu' or 'leaky_relu'.")


def norm_act(x, activation, name, norm="instance", norm_affine=True):
    """Normalisation then activation, after every non-final conv of G and D."""
    x = normalize(x, norm, f"{name}_norm", norm_affine)
    return _activation(activation, f"{name}_act")(x)


def recomputed_chain(layers):
    """A function applying `layers` in turn, its activations recomputed in the backward
    pass (`tf.recompute_grad`): only its input is kept for the gradient.

    For chains without random draws (no dropout): a recomputation would draw again.
    """
    def run(x):
        for layer in layers:
            x = layer(x)
        return x
    return tf.recompute_grad(run)


def call_recomputed_residual_block(model, name, x, training):
    """`residual_block`'s function through `model`'s layers "<name>_*", its branch up to
    the dropout recomputed in the backward pass (`recomputed_chain`).

    The dropout stays outside the recomputed part, so its mask is drawn once, as in the
    plain call. G's and D's `call_recomputing_blocks` use it.

    Args:
      model: G or D (or a model wrapping their layers): layers are found by name.
      name: the block's prefix, e.g. "stage0_res1".
      x: the block's input.
      training: whether the dropout is active.
    """
    names = {layer.name for layer in model.layers}
    branch = recomputed_chain([model.get_layer(f"{name}_{part}")
                               for part in ("conv", "norm", "act")
                               if f"{name}_{part}" in names])(x)
    branch = model.get_layer(f"{name}_dropout")(branch, training=training)
    return model.get_layer(f"{name}_add")([x, branch])
