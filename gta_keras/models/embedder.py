"""The embedder F: VGG16 conv layers plus fc6/fc7 as convolutions (FCN-8s backbone)."""

import keras
import tensorflow as tf

from gta_keras import errors
from gta_keras.models import blocks
from gta_keras.models import patch_conv

# (block, number of convs, filters) of VGG16; layer names match keras.applications.VGG16
# so that ImageNet weights load by name.
VGG16_BLOCKS = ((1, 2, 64), (2, 2, 128), (3, 3, 256), (4, 3, 512), (5, 3, 512))
FC_WIDTH = 4096
# F's output stride: input sides must divide by this.
OUTPUT_STRIDE = 32


# F's dropout after fc6 and fc7: element-wise (Keras `Dropout`, the paper's text is
# silent) or whole feature maps (`SpatialDropout2D`, the reference's `nn.Dropout2d`).
DROPOUTS = ("elementwise", "spatial")


def build_embedder(width_multiplier=1.0, fc_width=FC_WIDTH, dropout_rate=0.5,
                   dropout="elementwise", fc_matmul=False, name="embedder"):
    """Builds F.

    VGG16 conv1_1..conv5_3 and pool5, then fc6 as a 7x7 conv and fc7 as a 1x1 conv, each
    followed by ReLU and dropout. "Same" padding everywhere, so any input whose sides divide
    by 32 works, without the 100-pixel pad of the Caffe-era FCN.

    Args:
      width_multiplier: scales the VGG conv widths; 1.0 is the paper (and the only width
        ImageNet weights fit).
      fc_width: filters of fc6 and fc7; 4096 in the paper.
      dropout_rate: dropout after fc6 and fc7.
      dropout: "elementwise" (each activation on its own) or "spatial" (whole feature
        maps, as the reference's `nn.Dropout2d`). G receives the dropped-out fc7 either way.
      fc_matmul: compute fc6 and fc7 as matrix products over image patches
        (`patch_conv.PatchMatmulConv2D`): the same layers and function, faster on CPU at
        the paper's sizes; the float sums run in another order.
      name: model name.

    Returns:
      A functional `keras.Model` mapping a mean-subtracted BGR image [B, H, W, 3] to a dict
      with "fc7" (stride 32, fc_width channels), "pool4" (stride 16) and "pool3" (stride 8).
    """
    if dropout not in DROPOUTS:
        raise errors.ConfigurationError(
            f"Unknown embedder dropout {dropout!r}; use one of {DROPOUTS}.")
    dropout_layer = (keras.layers.Dropout if dropout == "elementwise"
                     else keras.layers.SpatialDropout2D)
    inputs = keras.Input((None, None, 3), name="image")
    x = inputs
    pools = {}
    for block, num_convs, filters in VGG16_BLOCKS:
        width = blocks.scaled_width(filters, width_multiplier)
        for i in range(1, num_convs + 1):
            x = keras.layers.Conv2D(width, 3, padding="same", activation="relu",
                                    name=f"block{block}_conv{i}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
        pools[block] = x
    fc_conv = patch_conv.PatchMatmulConv2D if fc_matmul else keras.layers.Conv2D
    x = fc_conv(fc_width, 7, padding="same", activation="relu", name="fc6")(x)
    x = dropout_layer(dropout_rate, name="fc6_dropout")(x)
    x = fc_conv(fc_width, 1, activation="relu", name="fc7")(x)
    x = dropout_layer(dropout_rate, name="fc7_dropout")(x)
    outputs = {"fc7": x, "pool4": pools[4], "pool3": pools[3]}
    return keras.Model(inputs, outputs, name=name)


def call_recomputing_blocks(embedder, images, training=False):
    """F(images), keeping only each VGG block's output for the backward pass.

    The same function as `embedder(images, training=training)`, through the same layers
    and variables: each of the five VGG blocks (its convs and pool) runs under
    `tf.recompute_grad`, so the backward pass keeps the block's input and recomputes its
    conv activations instead of holding them from the forward pass. At 1024x512 those
    are most of F's activations (block 1's two 64-channel maps at full resolution alone
    take 256 MiB per image); the cost is one more forward pass of the blocks. fc6 and
    fc7 run as usual: their dropout draws random masks, which a recomputation would draw
    again, differently.

    Args:
      embedder: F, as `build_embedder` returns it (or a model wrapping its layers, such
        as `precision.float32_outputs`' one: layers are found by name).
      images: mean-subtracted BGR images [B, H, W, 3].
      training: whether fc6's and fc7's dropout is active.

    Returns:
      F's dict {"fc7", "pool4", "pool3"}, float32.
    """
    x = images
    pools = {}
    for block, num_convs, _ in VGG16_BLOCKS:
        layers = [embedder.get_layer(f"block{block}_conv{i}")
                  for i in range(1, num_convs + 1)]
        layers.append(embedder.get_layer(f"block{block}_pool"))
        x = blocks.recomputed_chain(layers)(x)
        pools[block] = x
    for name in ("fc6", "fc6_dropout", "fc7", "fc7_dropout"):
        layer = embedder.get_layer(name)
        x = layer(x, training=training) if name.endswith("dropout") else layer(x)
    outputs = {"fc7": x, "pool4": pools[4], "pool3": pools[3]}
    return {name: tf.cast(value, tf.float32) for name, value in outputs.items()}
