"""The feature-space discriminator of the "feature space based D" ablation (method "feature_d").

Paper Table 4, case (d): G and the image-space D are removed and an adversarial loss is
applied to F's embedding directly, as FCNs in the wild's global alignment (Hoffman et al.
2016), which classifies each spatial unit of the last representation layer by domain.
Without a generator there are no fake images, so the paper's 4-way game (src-real,
src-fake, tgt-real, tgt-fake) reduces to its 2 classes that exist: source and target.

Architecture (ours; the paper gives none): on fc7 (stride 32, `fc_width` channels),
  Conv 1x1 -> width, LeakyReLU 0.2, Conv 3x3 -> width, LeakyReLU 0.2, Conv 1x1 -> 2,
one source/target decision per fc7 location. Why:
  * per location, as FCNs in the wild (each fc7 unit an instance), and as the paper's
    patch D, so the ablation changes where D looks (features, not images), not how many
    decisions it makes per image (the losses scale the locations to the patch D's count;
    see `losses.feature_domain_scale`);
  * 1x1 first: fc7 is 4096 channels in the paper; a 1x1 bottleneck keeps D small
    (about fc_width x width weights) while the 3x3 sees a neighbourhood of units;
  * LeakyReLU 0.2, the paper's D activation;
  * no normalisation: at 1/32 the demo's fc7 is 2x4 locations, and instance norm there
    would subtract each image's mean feature, the very statistic that differs between
    the domains; no dropout, as D's capacity is already small.
"""

import keras

from gta_keras.models import blocks

# Classes of the feature D's domain head.
SOURCE, TARGET = 0, 1
NUM_DOMAIN_CLASSES = 2
# F's fc7 sits at 1/32 of the input size.
INPUT_STRIDE = 32


def build_feature_discriminator(fc_width, width=512, init="glorot",
                                name="feature_discriminator"):
    """Builds the feature D.

    Args:
      fc_width: channels of F's fc7.
      width: channels of D's two hidden convolutions (512 x D's width multiplier in
        `factory.build_model`).
      init: "glorot" or "normal_0.02"; see `blocks.conv_initializers`.
      name: model name.

    Returns:
      A functional `keras.Model` mapping fc7 [B, H/32, W/32, fc_width] to a dict with
      "domain" logits [B, H/32, W/32, 2] (0 source, 1 target).
    """
    features = keras.Input((None, None, fc_width), name="fc7")
    x = keras.layers.Conv2D(width, 1, name="bottleneck",
                            **blocks.conv_initializers(init))(features)
    x = keras.layers.LeakyReLU(0.2, name="bottleneck_act")(x)
    x = keras.layers.Conv2D(width, 3, padding="same", name="context",
                            **blocks.conv_initializers(init))(x)
    x = keras.layers.LeakyReLU(0.2, name="context_act")(x)
    domain = keras.layers.Conv2D(NUM_DOMAIN_CLASSES, 1, name="domain_head",
                                 **blocks.conv_initializers(init))(x)
    return keras.Model(features, {"domain": domain}, name=name)
