"""Builds the composite model from settings grouped by player, each bindable by name in gin.

    embedder.*        F: widths, dropout, ImageNet weights     (`EmbedderConfig`)
    classifier.*      C: whether its upsampling learns          (`ClassifierConfig`)
    generator.*       G: widths, blocks, norm, init, last layer (`GeneratorConfig`)
    discriminator.*   D: widths, blocks, norm, init, patch      (`DiscriminatorConfig`)
    loss_weights.*    alpha, beta, reconstruction, G's weight   (`loss_weights`)
    segmenter.*       evaluation size and upsampling            (`segmenter.SegmenterConfig`)
    build_model.*     classes, method and the training rule

Bindings of the one-function layout before (`build_model.width_multiplier`, ...) fail with
the new name; `build_model.loss_weights = (alpha, beta, w_rec, g)` still works for one
release and logs the `loss_weights.*` bindings to use instead.
"""

import dataclasses

from absl import logging
import gin

from gta_keras import errors
from gta_keras import losses
from gta_keras.models import adaptation_model
from gta_keras.models import blocks
from gta_keras.models import classifier as classifier_lib
from gta_keras.models import discriminator as discriminator_lib
from gta_keras.models import embedder as embedder_lib
from gta_keras.models import feature_discriminator as feature_discriminator_lib
from gta_keras.models import generator as generator_lib
from gta_keras.models import segmenter as segmenter_lib
from gta_keras.models import vgg_init

# An alias, so that a Python user finds every config of `build_model` in this module.
SegmenterConfig = segmenter_lib.SegmenterConfig


@gin.configurable("embedder")
@dataclasses.dataclass(frozen=True)
class EmbedderConfig:
    """F, the VGG16 FCN backbone.

    Attributes:
      width_multiplier: scales VGG16's conv widths; 1.0 is the paper (and the only width
        ImageNet weights fit). G and D follow it unless given their own.
      fc_width: filters of fc6 and fc7; 4096 in the paper.
      dropout_rate: dropout after fc6 and fc7; 0.5 in the paper.
      dropout: "elementwise" or "spatial" (whole feature maps, the reference's
        `nn.Dropout2d`).
      imagenet_weights: None (random init), "imagenet" (Keras downloads VGG16) or a path
        to Keras VGG16 weights with top; see `vgg_init`.
      recompute_blocks: in training, recompute F's VGG blocks in the backward pass
        instead of keeping their activations (`embedder.call_recomputing_blocks`): less
        memory at large sizes for one more forward pass of the blocks; same results.
      fc_matmul: compute fc6 and fc7 as matrix products over image patches
        (`patch_conv.PatchMatmulConv2D`): the same function, faster on CPU at the
        paper's sizes; results equal to float rounding.
    """
    width_multiplier: float = 1.0
    fc_width: int = embedder_lib.FC_WIDTH
    dropout_rate: float = 0.5
    dropout: str = "elementwise"
    imagenet_weights: str = None
    recompute_blocks: bool = False
    fc_matmul: bool = False


@gin.configurable("classifier")
@dataclasses.dataclass(frozen=True)
class ClassifierConfig:
    """C, the FCN-8s head.

    Attributes:
      train_upsampling: whether C's bilinear upsampling learns (frozen in the reference).
    """
    train_upsampling: bool = False


@gin.configurable("generator")
@dataclasses.dataclass(frozen=True)
class GeneratorConfig:
    """G, which renders an image from F's features.

    Attributes:
      width_multiplier: G's widths; None for F's.
      blocks_per_stage: residual blocks after each upsampling; 2 in the paper.
      dropout_rate: dropout in the residual blocks, G's only noise; 0.5 in the paper.
      norm: "instance" (the paper), "layer" or "none".
      norm_affine: whether the norms learn a scale and offset (the reference's
        `InstanceNorm2d` does not).
      output_kernel_size: kernel of the last transposed conv; 8 in the reference.
      init: "glorot" or "normal_0.02" (the reference's N(0, 0.02) weights,
        U(-0.01, 0.01) biases).
      stage1_matmul: compute the first 7x7 transposed conv, on fc7's small map, as a
        matrix product and a shifted sum of its taps (`patch_conv.MatmulConv2DTranspose`):
        the same function, faster on CPU at the paper's sizes; results equal to float
        rounding.
      recompute_blocks: in training, recompute each stage's transposed conv and each
        residual branch (up to its dropout) in the backward pass instead of keeping their
        activations (`generator.call_recomputing_blocks`): less memory at large sizes for
        one more forward pass of them; same results.
    """
    width_multiplier: float = None
    blocks_per_stage: int = 2
    dropout_rate: float = 0.5
    norm: str = "instance"
    norm_affine: bool = True
    output_kernel_size: int = 3
    init: str = "glorot"
    stage1_matmul: bool = False
    recompute_blocks: bool = False


@gin.configurable("discriminator")
@dataclasses.dataclass(frozen=True)
class DiscriminatorConfig:
    """D, the 4-way domain and auxiliary labelling discriminator.

    Attributes:
      width_multiplier: D's widths; None for F's.
      blocks_per_stage: residual blocks in each of D's three stages; 3 in the paper.
      dropout_rate: dropout in the residual blocks; 0.5 in the paper.
      norm: "instance" (the paper), "layer" or "none".
      norm_affine: whether the norms learn a scale and offset.
      patch: True for the paper's patch D; False for an image-level D without any loss
        rescaling (method "global_d" is the Table 4 ablation: image-level D and its
        losses scaled to the patch D's weight; it ignores this setting).
      init: "glorot" or "normal_0.02" (the reference's).
      recompute_blocks: in training, recompute D's stem and each residual branch (up to
        its dropout) in the backward pass instead of keeping their activations
        (`discriminator.call_recomputing_blocks`): less memory at large sizes for one
        more forward pass of them; same results. Not for method "feature_d".

    Method "feature_d" uses `width_multiplier` (its hidden width is 512 times it) and
    `init`; method "no_aux" builds D without its auxiliary head.
    """
    width_multiplier: float = None
    blocks_per_stage: int = 3
    dropout_rate: float = 0.5
    norm: str = "instance"
    norm_affine: bool = True
    patch: bool = True
    init: str = "glorot"
    recompute_blocks: bool = False


@gin.configurable
def loss_weights(alpha=losses.REFERENCE_WEIGHTS.alpha, beta=losses.REFERENCE_WEIGHTS.beta,
                 reconstruction=losses.REFERENCE_WEIGHTS.reconstruction,
                 generator_adversarial=losses.REFERENCE_WEIGHTS.generator_adversarial):
    """The written loss coefficients (DESIGN §1); defaults are the reference's.

    Args:
      alpha: F's auxiliary-classification weight.
      beta: F's cross-domain adversarial weight.
      reconstruction: G's L1 weight (w_rec).
      generator_adversarial: G's within-domain adversarial weight (0.1).

    Returns:
      A `losses.LossWeights`.
    """
    return losses.LossWeights(alpha, beta, reconstruction, generator_adversarial)


# Old `build_model` parameters -> their binding now.
_MOVED = {
    "width_multiplier": "embedder.width_multiplier",
    "fc_width": "embedder.fc_width",
    "imagenet_weights": "embedder.imagenet_weights",
    "train_upsampling": "classifier.train_upsampling",
    "generator_width_multiplier": "generator.width_multiplier",
    "generator_blocks_per_stage": "generator.blocks_per_stage",
    "generator_dropout_rate": "generator.dropout_rate",
    "generator_norm": "generator.norm",
    "discriminator_width_multiplier": "discriminator.width_multiplier",
    "discriminator_blocks_per_stage": "discriminator.blocks_per_stage",
    "discriminator_dropout_rate": "discriminator.dropout_rate",
    "discriminator_norm": "discriminator.norm",
    "discriminator_patch": "discriminator.patch",
    "eval_size": "segmenter.eval_size",
}
_LOSS_WEIGHT_NAMES = losses.LossWeights._fields


@gin.configurable
def build_model(num_classes=19, method="lsd", reduction="sum",
                update_reading="single_pass", adversarial_warmup_steps=0,
                d_label_smoothing=0.0, d_input_noise=0.0, d_input_noise_steps=0,
                d_r1_weight=0.0, embedder=None, classifier=None, generator=None,
                discriminator=None, segmenter=None, loss_weights=None,
                skip_imagenet_weights=False, **moved):
    """Builds F, C and (for the methods that have them) G and D, and combines them.

    Args:
      num_classes: segmentation classes (C's output and D's auxiliary head).
      method: "lsd" (the paper), "source_only", or a Table 4 ablation or bound:
        "target_only", "feature_d", "global_d", "no_aux" (see
        `adaptation_model.METHOD_DESCRIPTIONS` and docs/ablations.md).
      reduction: "sum" (reference) or "mean" pixel reduction of the cross-entropies.
      update_reading: "single_pass" (reference) or "sequential".
      adversarial_warmup_steps: steps during which F learns from segmentation alone while
        G and D train (0 in the paper).
      d_label_smoothing: label smoothing of D's domain targets (0 in the paper; see
        `DomainAdaptationModel`).
      d_input_noise: standard deviation of the instance noise on D's input images, which
        falls linearly to 0 at step `d_input_noise_steps` (0 there: it stays); 0 in the
        paper. Not for "feature_d" (its D judges features); nothing for the methods
        without a D.
      d_input_noise_steps: see `d_input_noise`.
      d_r1_weight: gamma of the R1 gradient penalty on D's real images (0 in the paper;
        see `DomainAdaptationModel`). Not for "feature_d" (its D judges features), nor
        with `discriminator.recompute_blocks`; nothing for the methods without a D.
      embedder: an `EmbedderConfig`; None for the gin-bound `embedder.*` one.
      classifier: a `ClassifierConfig`; None for gin's `classifier.*`.
      generator: a `GeneratorConfig`; None for gin's `generator.*`.
      discriminator: a `DiscriminatorConfig`; None for gin's `discriminator.*`.
      segmenter: a `SegmenterConfig`; None for gin's `segmenter.*`.
      loss_weights: a `losses.LossWeights`; None for gin's `loss_weights.*`. A plain
        4-tuple (alpha, beta, reconstruction, generator_adversarial) is deprecated.
      skip_imagenet_weights: build F at random even if `embedder.imagenet_weights` is set;
        for a model whose every weight a checkpoint is about to overwrite.
      **moved: parameters that moved to a player's config; each raises an error naming
        its new binding.

    Returns:
      A `DomainAdaptationModel` (not compiled).

    Raises:
      errors.ConfigurationError: for a moved parameter, or a setting out of its choices
        (the command line reports it in one line).
    """
    _reject_moved(moved)
    if method not in adaptation_model.METHODS:
        raise errors.ConfigurationError(f"Unknown method {method!r}; use one of "
                                        f"{adaptation_model.METHODS}.")
    embedder = embedder or EmbedderConfig()
    classifier = classifier or ClassifierConfig()
    generator = generator or GeneratorConfig()
    discriminator = discriminator or DiscriminatorConfig()
    segmenter = segmenter or SegmenterConfig()
    weights = _loss_weights(loss_weights)
    # Checked for every method, so that a typo fails in source-only runs too.
    for config in (generator, discriminator):
        blocks.check_norm(config.norm)
        blocks.check_init(config.init)

    if method == "feature_d":
        _refuse_image_d_options(discriminator.recompute_blocks, d_input_noise, d_r1_weight)
    if (d_r1_weight and discriminator.recompute_blocks
            and "generator" in adaptation_model.METHOD_PLAYERS[method]):
        raise errors.ConfigurationError(
            "build_model.d_r1_weight differentiates D twice, which "
            "discriminator.recompute_blocks does not support; set one of them off.")
    f = embedder_lib.build_embedder(embedder.width_multiplier, embedder.fc_width,
                                    embedder.dropout_rate, embedder.dropout,
                                    embedder.fc_matmul)
    if embedder.imagenet_weights and not skip_imagenet_weights:
        vgg_init.initialize_embedder_from_vgg16(f, embedder.imagenet_weights)
    pool4 = blocks.scaled_width(512, embedder.width_multiplier)
    pool3 = blocks.scaled_width(256, embedder.width_multiplier)
    c = classifier_lib.build_classifier(num_classes, embedder.fc_width, pool4, pool3,
                                        classifier.train_upsampling)
    g = d = None
    players = adaptation_model.METHOD_PLAYERS[method]
    d_width = discriminator.width_multiplier or embedder.width_multiplier
    if method == "feature_d":
        d = feature_discriminator_lib.build_feature_discriminator(
            embedder.fc_width, blocks.scaled_width(512, d_width), discriminator.init)
    elif "generator" in players:
        g = generator_lib.build_generator(
            embedder.fc_width, pool4, pool3,
            generator.width_multiplier or embedder.width_multiplier,
            generator.blocks_per_stage, generator.dropout_rate, generator.norm,
            generator.norm_affine, generator.output_kernel_size, generator.init,
            generator.stage1_matmul)
        d = discriminator_lib.build_discriminator(
            num_classes, d_width, discriminator.blocks_per_stage,
            discriminator.dropout_rate,
            patch=discriminator.patch and method != "global_d", norm=discriminator.norm,
            norm_affine=discriminator.norm_affine, init=discriminator.init,
            aux_head=method != "no_aux")
    return adaptation_model.DomainAdaptationModel(
        f, c, g, d, method=method, loss_weights=weights, reduction=reduction,
        update_reading=update_reading, num_classes=num_classes,
        eval_size=segmenter.eval_size, upsampling=segmenter.upsampling,
        adversarial_warmup_steps=adversarial_warmup_steps,
        recompute_embedder_blocks=embedder.recompute_blocks,
        recompute_discriminator_blocks=discriminator.recompute_blocks,
        recompute_generator_blocks=generator.recompute_blocks,
        d_label_smoothing=d_label_smoothing, d_input_noise=d_input_noise,
        d_input_noise_steps=d_input_noise_steps, d_r1_weight=d_r1_weight)


def _refuse_image_d_options(recompute_blocks, d_input_noise, d_r1_weight):
    """Raises a ConfigurationError for the first option set that only the D judging
    images has: method "feature_d" judges F's features with another D."""
    options = (
        ("discriminator.recompute_blocks", recompute_blocks, "False",
         "recomputes the blocks of the D that judges images"),
        ("build_model.d_input_noise", d_input_noise, "0",
         "adds noise to the images D judges"),
        ("build_model.d_r1_weight", d_r1_weight, "0",
         "penalises the gradient of D's judgement of real images"),
    )
    for binding, value, off, what in options:
        if value:
            raise errors.ConfigurationError(
                f"{binding} {what}; method 'feature_d' judges F's features with another D. "
                f"Leave it {off} for 'feature_d'.")


def _reject_moved(moved):
    """Names the new binding of each parameter that left `build_model`."""
    if not moved:
        return
    lines = []
    for name in moved:
        new = _MOVED.get(name)
        lines.append(f"build_model.{name} is now {new}" if new
                     else f"build_model.{name} is not a parameter")
    raise errors.ConfigurationError("; ".join(lines) + ". Bind the new names in your gin "
                                    "file (see gta_keras/models/factory.py).")


def _loss_weights(value):
    """`losses.LossWeights` from None (gin's `loss_weights.*`) or a deprecated tuple."""
    if value is None:
        return loss_weights()
    if isinstance(value, losses.LossWeights):
        return value
    value = tuple(value)
    if len(value) != len(_LOSS_WEIGHT_NAMES):
        raise errors.ConfigurationError(
            f"build_model.loss_weights = {value} must have {len(_LOSS_WEIGHT_NAMES)} values "
            f"{_LOSS_WEIGHT_NAMES}; better, bind them by name: "
            + _by_name(losses.REFERENCE_WEIGHTS))
    weights = losses.LossWeights(*value)
    logging.warning("build_model.loss_weights = %s is deprecated and will be removed in "
                    "the next release; bind by name instead: %s", value, _by_name(weights))
    return weights


def _by_name(weights):
    return ", ".join(f"loss_weights.{name} = {value}"
                     for name, value in weights._asdict().items())
