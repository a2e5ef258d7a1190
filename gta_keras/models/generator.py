"""The generator G: reconstructs the input image from F's embedding."""

import keras
import tensorflow as tf

from gta_keras.models import blocks
from gta_keras.models import patch_conv


def build_generator(fc_width, pool4_channels, pool3_channels, width_multiplier=1.0,
                    blocks_per_stage=2, dropout_rate=0.5, norm="instance",
                    norm_affine=True, output_kernel_size=3, init="glorot",
                    stage1_matmul=False, name="generator"):
    """Builds G.

    No noise input: dropout in every residual block is the source of randomness (paper
    Section 3.2). From fc7 (stride 32) up to the input size, concatenating pool4 and pool3
    on the way:

      fc7 -> ConvT 7x7 -> 256 -> blocks; ConvT 3x3 s2 -> 512 -> blocks (stride 16);
      concat pool4 -> ConvT 3x3 s2 -> 256 -> blocks (stride 8);
      concat pool3 -> ConvT 5x5 s2 -> 128 -> blocks (stride 4);
      ConvT 5x5 s2 -> 64 -> blocks (stride 2); ConvT k x k s2 -> 3, sigmoid (stride 1),
      k = `output_kernel_size` (3 here by default; 8 in the reference code).

    Args:
      fc_width: channels of F's fc7.
      pool4_channels: channels of F's pool4.
      pool3_channels: channels of F's pool3.
      width_multiplier: scales G's widths; 1.0 is the paper.
      blocks_per_stage: residual blocks after each transposed conv; 2 in the paper.
      dropout_rate: dropout in the residual blocks.
      norm: "instance" (the paper), "layer" or "none"; see `blocks.normalize`.
      norm_affine: whether the norms learn a scale and offset (PyTorch's InstanceNorm2d,
        the reference's, does not).
      output_kernel_size: kernel of the last transposed conv (8 in the reference code).
      init: "glorot" or "normal_0.02" (the reference's); see `blocks.conv_initializers`.
      stage1_matmul: compute stage 1's 7x7 transposed conv, on fc7's small map, as a
        matrix product and a shifted sum of its taps (`patch_conv.MatmulConv2DTranspose`): the
        same layer and function, faster on CPU at the paper's sizes.
      name: model name.

    Returns:
      A functional `keras.Model` mapping F's dict to an RGB image in [0, 1] at F's input
      size.
    """
    fc7 = keras.Input((None, None, fc_width), name="fc7")
    pool4 = keras.Input((None, None, pool4_channels), name="pool4")
    pool3 = keras.Input((None, None, pool3_channels), name="pool3")

    def stage(x, filters, kernel_size, strides, stage_name,
              deconv=keras.layers.Conv2DTranspose):
        x = deconv(
            blocks.scaled_width(filters, width_multiplier), kernel_size, strides=strides,
            padding="same", use_bias=blocks.conv_uses_bias(norm),
            name=f"{stage_name}_deconv", **blocks.conv_initializers(init))(x)
        x = blocks.norm_act(x, "relu", stage_name, norm, norm_affine)
        for i in range(blocks_per_stage):
            x = blocks.residual_block(x, "relu", dropout_rate, f"{stage_name}_res{i}", norm,
                                      norm_affine, init)
        return x

    x = stage(fc7, 256, 7, 1, "stage1",
              patch_conv.MatmulConv2DTranspose if stage1_matmul
              else keras.layers.Conv2DTranspose)
    x = stage(x, 512, 3, 2, "stage2")
    x = keras.layers.Concatenate(name="concat_pool4")([x, pool4])
    x = stage(x, 256, 3, 2, "stage3")
    x = keras.layers.Concatenate(name="concat_pool3")([x, pool3])
    x = stage(x, 128, 5, 2, "stage4")
    x = stage(x, 64, 5, 2, "stage5")
    image = keras.layers.Conv2DTranspose(3, output_kernel_size, strides=2, padding="same",
                                         activation="sigmoid", name="to_rgb",
                                         **blocks.conv_initializers(init))(x)
    return keras.Model({"fc7": fc7, "pool4": pool4, "pool3": pool3}, image, name=name)


def call_recomputing_blocks(generator, features, training=False):
    """G(features), recomputing each stage's transposed conv -> norm -> activation and
    each residual branch up to its dropout in the backward pass.

    The same function as `generator(features, training=training)`, through the same layers
    and variables. At 1024x512 G's forward activations of both domains (about 1.1 GiB)
    are alive while D's gradients are computed, at the step's memory peak
    (docs/performance.md). Here each part runs under `tf.recompute_grad`: the backward
    pass keeps its input (and the dropout mask) and recomputes the rest. The dropout
    stays outside the recomputed parts, so each mask is drawn once, as in the plain call.

    Args:
      generator: G, as `build_generator` returns it (layers are found by name).
      features: F's dict {"fc7", "pool4", "pool3"}.
      training: whether the blocks' dropout is active.

    Returns:
      The image in [0, 1], float32.
    """
    names = {layer.name for layer in generator.layers}

    def layers(*candidates):
        return [generator.get_layer(name) for name in candidates if name in names]

    x = features["fc7"]
    for stage in range(1, 6):
        prefix = f"stage{stage}"
        if stage == 3:
            x = generator.get_layer("concat_pool4")([x, features["pool4"]])
        if stage == 4:
            x = generator.get_layer("concat_pool3")([x, features["pool3"]])
        x = blocks.recomputed_chain(layers(f"{prefix}_deconv", f"{prefix}_norm",
                                           f"{prefix}_act"))(x)
        block = 0
        while f"{prefix}_res{block}_conv" in names:
            x = blocks.call_recomputed_residual_block(generator, f"{prefix}_res{block}", x,
                                                      training)
            block += 1
    return tf.cast(generator.get_layer("to_rgb")(x), tf.float32)
