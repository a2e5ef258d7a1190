"""The discriminator D: a 4-way domain head and an auxiliary labelling head."""

import keras
import tensorflow as tf

from gta_keras.models import blocks

# Domain classes of D's first head (paper Table 1).
SOURCE_REAL, SOURCE_FAKE, TARGET_REAL, TARGET_FAKE = 0, 1, 2, 3
NUM_DOMAIN_CLASSES = 4
# D's heads sit at 1/8 of the input size.
OUTPUT_STRIDE = 8


def build_discriminator(num_classes, width_multiplier=1.0, blocks_per_stage=3,
                        dropout_rate=0.5, patch=True, norm="instance",
                        norm_affine=True, init="glorot", aux_head=True,
                        name="discriminator"):
    """Builds D.

    Conv 4x4 s2 -> 128, InstanceNorm (or `norm`), LeakyReLU 0.2, then three stages of
    residual blocks separated by max-pooling; two 3x3 conv heads at 1/8 resolution: the
    domain head (src-real, src-fake, tgt-real, tgt-fake per location) and an ACGAN-style
    auxiliary head that labels the image with the segmentation classes.

    Args:
      num_classes: classes of the auxiliary head.
      width_multiplier: scales D's width (128 in the paper).
      blocks_per_stage: residual blocks per stage; 3 in the paper.
      dropout_rate: dropout in the residual blocks.
      patch: True for the paper's patch discriminator (a domain decision per location);
        False for the "w/o patch" ablation: the domain logits are averaged over the image
        into one 4-way decision, kept as a 1x1 map so the losses stay the same.
      norm: "instance" (the paper), "layer" or "none"; see `blocks.normalize`.
      norm_affine: whether the norms learn a scale and offset (PyTorch's InstanceNorm2d,
        the reference's, does not).
      init: "glorot" or "normal_0.02" (the reference's); see `blocks.conv_initializers`.
      aux_head: False for the "w/o auxiliary loss" ablation (method "no_aux"): D is a
        single branch, the domain head, and has no labelling head (nor its weights).
      name: model name.

    Returns:
      A functional `keras.Model` mapping an RGB image in [0, 1] [B, H, W, 3] to a dict with
      "domain" [B, H/8, W/8, 4] (or [B, 1, 1, 4]) and "aux" [B, H/8, W/8, num_classes]
      logits ("aux" absent when `aux_head` is False).
    """
    image = keras.Input((None, None, 3), name="image")
    width = blocks.scaled_width(128, width_multiplier)
    x = keras.layers.Conv2D(width, 4, strides=2, padding="same",
                            use_bias=blocks.conv_uses_bias(norm), name="stem_conv",
                            **blocks.conv_initializers(init))(image)
    x = blocks.norm_act(x, "leaky_relu", "stem", norm, norm_affine)
    for stage in range(3):
        if stage > 0:
            x = keras.layers.MaxPooling2D(2, name=f"stage{stage}_pool")(x)
        for i in range(blocks_per_stage):
            x = blocks.residual_block(x, "leaky_relu", dropout_rate,
                                      f"stage{stage}_res{i}", norm, norm_affine, init)
    domain = keras.layers.Conv2D(NUM_DOMAIN_CLASSES, 3, padding="same",
                                 name="domain_head", **blocks.conv_initializers(init))(x)
    if not patch:
        domain = keras.layers.GlobalAveragePooling2D(keepdims=True,
                                                     name="image_level_domain")(domain)
    if not aux_head:
        return keras.Model(image, {"domain": domain}, name=name)
    aux = keras.layers.Conv2D(num_classes, 3, padding="same", name="aux_head",
                              **blocks.conv_initializers(init))(x)
    return keras.Model(image, {"domain": domain, "aux": aux}, name=name)


def call_recomputing_blocks(discriminator, images, training=False):
    """D(images), recomputing each conv -> norm -> activation in the backward pass.

    The same function as `discriminator(images, training=training)`, through the same
    layers and variables. D is most of a step's activation memory at the paper's size: it
    sees four images, and its first stage runs at half resolution with 128 channels, where
    each residual block would keep its conv output, the norm's intermediates and the
    activation. Here the stem and each block's branch up to the dropout run under
    `tf.recompute_grad`: the backward pass keeps the block's input and the dropout mask,
    and recomputes the rest. The dropout stays outside the recomputed part, so each mask
    is drawn once, as in the plain call.

    Args:
      discriminator: D, as `build_discriminator` returns it (or a model wrapping its
        layers, such as `precision.float32_outputs`' one: layers are found by name).
      images: RGB images in [0, 1], [B, H, W, 3].
      training: whether the blocks' dropout is active.

    Returns:
      D's dict {"domain", "aux"} ("aux" absent without an auxiliary head), float32.
    """
    names = {layer.name for layer in discriminator.layers}

    def layers(*candidates):
        return [discriminator.get_layer(name) for name in candidates if name in names]

    x = blocks.recomputed_chain(layers("stem_conv", "stem_norm", "stem_act"))(images)
    stage = 0
    while f"stage{stage}_res0_conv" in names:
        if stage > 0:
            x = discriminator.get_layer(f"stage{stage}_pool")(x)
        block = 0
        while f"stage{stage}_res{block}_conv" in names:
            x = blocks.call_recomputed_residual_block(
                discriminator, f"stage{stage}_res{block}", x, training)
            block += 1
        stage += 1
    domain = discriminator.get_layer("domain_head")(x)
    if "image_level_domain" in names:
        domain = discriminator.get_layer("image_level_domain")(domain)
    outputs = {"domain": domain}
    if "aux_head" in names:
        outputs["aux"] = discriminator.get_layer("aux_head")(x)
    return {name: tf.cast(value, tf.float32) for name, value in outputs.items()}
