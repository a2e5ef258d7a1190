"""Builds the composite model from a few gin-configurable sizes."""

import gin

from gta_keras.models import adaptation_model
from gta_keras.models import classifier as classifier_lib
from gta_keras.models import discriminator as discriminator_lib
from gta_keras.models import embedder as embedder_lib
from gta_keras.models import generator as generator_lib
from gta_keras.models import vgg_init
from gta_keras.models import blocks


@gin.configurable
def build_model(num_classes=19, method="lsd", width_multiplier=1.0,
                fc_width=embedder_lib.FC_WIDTH, generator_width_multiplier=None,
                discriminator_width_multiplier=None, discriminator_patch=True,
                generator_blocks_per_stage=2, discriminator_blocks_per_stage=3,
                generator_dropout_rate=0.5, discriminator_dropout_rate=0.5,
                generator_norm="instance", discriminator_norm="instance",
                imagenet_weights=None, train_upsampling=False, loss_weights=None,
                reduction="sum", update_reading="single_pass", eval_size=None,
                adversarial_warmup_steps=0):
    """Builds F, C and (for "lsd") G and D, and combines them.

    Args:
      num_classes: segmentation classes (C's output and D's auxiliary head).
      method: "lsd" (the paper) or "source_only".
      width_multiplier: VGG16 widths of F; 1.0 is the paper.
      fc_width: fc6/fc7 filters; 4096 in the paper.
      generator_width_multiplier: G's widths; defaults to width_multiplier.
      discriminator_width_multiplier: D's widths; defaults to width_multiplier.
      discriminator_patch: False for the "w/o patch discriminator" ablation.
      generator_blocks_per_stage: residual blocks after each of G's upsamplings (2 in the
        paper).
      discriminator_blocks_per_stage: residual blocks in each of D's three stages (3 in
        the paper).
      generator_dropout_rate: dropout in G's residual blocks, its only noise (0.5 in the
        paper).
      discriminator_dropout_rate: dropout in D's residual blocks (0.5 in the paper).
      generator_norm: G's normalisation, "instance" (the paper), "layer" or "none".
      discriminator_norm: D's normalisation, "instance" (the paper), "layer" or "none".
      imagenet_weights: None (random init), "imagenet" or a path to Keras VGG16 weights
        with top; see `vgg_init`.
      train_upsampling: whether C's bilinear upsampling learns (frozen in the reference).
      loss_weights: a `losses.LossWeights`-like tuple (alpha, beta, reconstruction,
        generator_adversarial); None for the reference values.
      reduction: "sum" (reference) or "mean" over pixels.
      update_reading: "single_pass" (reference) or "sequential".
      eval_size: (height, width) for prediction in evaluation, None for the label size.
      adversarial_warmup_steps: steps during which F learns from segmentation alone while
        G and D train (0 in the paper).

    Returns:
      A `DomainAdaptationModel` (not compiled).
    """
    # Checked for every method, so that a typo fails in source-only runs too.
    blocks.check_norm(generator_norm)
    blocks.check_norm(discriminator_norm)
    embedder = embedder_lib.build_embedder(width_multiplier, fc_width)
    if imagenet_weights:
        vgg_init.initialize_embedder_from_vgg16(embedder, imagenet_weights)
    pool4 = blocks.scaled_width(512, width_multiplier)
    pool3 = blocks.scaled_width(256, width_multiplier)
    classifier = classifier_lib.build_classifier(num_classes, fc_width, pool4, pool3,
                                                 train_upsampling)
    generator = discriminator = None
    if method == "lsd":
        generator = generator_lib.build_generator(
            fc_width, pool4, pool3, generator_width_multiplier or width_multiplier,
            generator_blocks_per_stage, generator_dropout_rate, generator_norm)
        discriminator = discriminator_lib.build_discriminator(
            num_classes, discriminator_width_multiplier or width_multiplier,
            discriminator_blocks_per_stage, discriminator_dropout_rate,
            patch=discriminator_patch, norm=discriminator_norm)
    kwargs = {} if loss_weights is None else {"loss_weights": tuple(loss_weights)}
    return adaptation_model.DomainAdaptationModel(
        embedder, classifier, generator, discriminator, method=method,
        reduction=reduction, update_reading=update_reading, num_classes=num_classes,
        eval_size=eval_size, adversarial_warmup_steps=adversarial_warmup_steps, **kwargs)
