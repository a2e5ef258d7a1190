"""The losses of the three updates, as pure functions.

Each term is a per-image quantity averaged over the batch. Cross-entropies can be reduced
over pixels in two ways: "sum" (the reference code: `cross_entropy2d(size_average=False)`,
a sum over the image's non-void pixels) or "mean" (a mean over non-void pixels). The L1
reconstruction loss is always a mean over pixels and channels, as in the reference.

With "sum", the written coefficients (alpha, beta, w_rec, 0.1) are not the effective
relative weights: a cross-entropy at D's 1/8 resolution counts (H/8)(W/8) times, the
segmentation loss H*W times, the L1 term once. `effective_loss_weights` spells out that
conversion.
"""

import collections

import tensorflow as tf

from gta_keras import protocols
from gta_keras.models import discriminator as discriminator_lib

REDUCTIONS = ("sum", "mean")


def pixel_cross_entropy(labels, logits, reduction="sum"):
    """Cross-entropy per pixel, void pixels ignored.

    For one image: L = sum_{p not void} -log softmax(logits_p)[labels_p] ("sum"), or that
    sum divided by the number of non-void pixels ("mean", 0 when all are void). The result
    is the mean of L over the batch.

    Args:
      labels: int [B, H, W] class ids; 255 is void.
      logits: float [B, H, W, K].
      reduction: "sum" or "mean" over pixels.

    Returns:
      Scalar float32.
    """
    _check_reduction(reduction)
    labels = tf.cast(labels, tf.int32)
    valid = tf.logical_not(tf.equal(labels, protocols.VOID_LABEL))
    safe_labels = tf.where(valid, labels, tf.zeros_like(labels))
    per_pixel = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=safe_labels, logits=tf.cast(logits, tf.float32))
    valid = tf.cast(valid, tf.float32)
    per_image = tf.reduce_sum(per_pixel * valid, axis=[1, 2])
    if reduction == "mean":
        per_image = tf.math.divide_no_nan(per_image, tf.reduce_sum(valid, axis=[1, 2]))
    return tf.reduce_mean(per_image)


def domain_cross_entropy(domain_logits, domain, reduction="sum"):
    """Cross-entropy of D's domain head against one domain class everywhere.

    L = sum_p -log softmax(domain_logits_p)[domain] per image ("sum"; "mean" divides by
    the number of locations), averaged over the batch.

    Args:
      domain_logits: float [B, h, w, 4].
      domain: one of SOURCE_REAL, SOURCE_FAKE, TARGET_REAL, TARGET_FAKE.
      reduction: "sum" or "mean" over locations.

    Returns:
      Scalar float32.
    """
    labels = tf.fill(tf.shape(domain_logits)[:3], domain)
    return pixel_cross_entropy(labels, domain_logits, reduction)


def l1_reconstruction(images, reconstructions):
    """Mean absolute error over pixels and channels: L = mean |x - G(F(x))|.

    Args:
      images: float [B, H, W, 3] in [0, 1].
      reconstructions: float [B, H, W, 3] in [0, 1].

    Returns:
      Scalar float32.
    """
    return tf.reduce_mean(tf.abs(tf.cast(images, tf.float32) - reconstructions))


LossWeights = collections.namedtuple(
    "LossWeights", ["alpha", "beta", "reconstruction", "generator_adversarial"])
LossWeights.__doc__ = """Written coefficients of the losses (DESIGN §1).

alpha: weight of D's auxiliary labelling loss in the F update (0.1).
beta: weight of the cross-domain adversarial loss in the F update (0.1).
reconstruction: w_rec, weight of the L1 loss in the G update (1).
generator_adversarial: weight of the within-domain adversarial loss in the G update (0.1).
"""
REFERENCE_WEIGHTS = LossWeights(alpha=0.1, beta=0.1, reconstruction=1.0,
                                generator_adversarial=0.1)


def d_loss(d_source_real, d_source_fake, d_target_real, d_target_fake, aux_labels,
           reduction="sum"):
    """D update: L_D = CE(D(x_s), src-real) + CE(D(G(F(x_s))), src-fake)
    + CE(D_aux(x_s), y_s) + CE(D(x_t), tgt-real) + CE(D(G(F(x_t))), tgt-fake).

    Args:
      d_source_real, d_source_fake, d_target_real, d_target_fake: D's outputs (dicts with
        "domain" and "aux" logits) on x_s, G(F(x_s)), x_t and G(F(x_t)).
      aux_labels: y_s at D's resolution, int [B, h, w].
      reduction: "sum" or "mean" over pixels.

    Returns:
      Scalar float32.
    """
    ce = lambda out, domain: domain_cross_entropy(out["domain"], domain, reduction)
    return (ce(d_source_real, discriminator_lib.SOURCE_REAL)
            + ce(d_source_fake, discriminator_lib.SOURCE_FAKE)
            + pixel_cross_entropy(aux_labels, d_source_real["aux"], reduction)
            + ce(d_target_real, discriminator_lib.TARGET_REAL)
            + ce(d_target_fake, discriminator_lib.TARGET_FAKE))


def g_loss(d_source_fake, d_target_fake, aux_labels, source_images, source_reconstructions,
           target_images, target_reconstructions, weights=REFERENCE_WEIGHTS,
           reduction="sum"):
    """G update: L_G = CE(D_aux(G(F(x_s))), y_s)
    + 0.1 [CE(D(G(F(x_s))), src-real) + CE(D(G(F(x_t))), tgt-real)]
    + w_rec [L1(G(F(x_s)), x_s) + L1(G(F(x_t)), x_t)].

    Args:
      d_source_fake, d_target_fake: D's outputs on G(F(x_s)) and G(F(x_t)).
      aux_labels: y_s at D's resolution, int [B, h, w].
      source_images, target_images: x_s and x_t in [0, 1].
      source_reconstructions, target_reconstructions: G(F(x_s)) and G(F(x_t)).
      weights: a `LossWeights`.
      reduction: "sum" or "mean" over pixels for the cross-entropies.

    Returns:
      Scalar float32.
    """
    adversarial = (
        domain_cross_entropy(d_source_fake["domain"], discriminator_lib.SOURCE_REAL,
                             reduction)
        + domain_cross_entropy(d_target_fake["domain"], discriminator_lib.TARGET_REAL,
                               reduction))
    reconstruction = (l1_reconstruction(source_images, source_reconstructions)
                      + l1_reconstruction(target_images, target_reconstructions))
    return (pixel_cross_entropy(aux_labels, d_source_fake["aux"], reduction)
            + weights.generator_adversarial * adversarial
            + weights.reconstruction * reconstruction)


def f_loss(segmentation_logits, labels, d_source_fake, d_target_fake, aux_labels,
           weights=REFERENCE_WEIGHTS, reduction="sum"):
    """F and C update: L_F = CE(C(F(x_s)), y_s)
    + beta [CE(D(G(F(x_s))), tgt-real) + CE(D(G(F(x_t))), src-real)]
    + alpha CE(D_aux(G(F(x_s))), y_s).

    The cross-domain terms ask F for source features that G renders as target-like
    images and target features rendered source-like (paper Table 1).

    Args:
      segmentation_logits: C(F(x_s)) [B, H, W, K].
      labels: y_s int [B, H, W].
      d_source_fake, d_target_fake: D's outputs on G(F(x_s)) and G(F(x_t)), or None for
        source-only training, where L_F is the segmentation loss alone.
      aux_labels: y_s at D's resolution, int [B, h, w] (unused for source-only).
      weights: a `LossWeights`.
      reduction: "sum" or "mean" over pixels.

    Returns:
      Scalar float32.
    """
    segmentation = pixel_cross_entropy(labels, segmentation_logits, reduction)
    if d_source_fake is None:
        return segmentation
    cross_domain = (
        domain_cross_entropy(d_source_fake["domain"], discriminator_lib.TARGET_REAL,
                             reduction)
        + domain_cross_entropy(d_target_fake["domain"], discriminator_lib.SOURCE_REAL,
                               reduction))
    auxiliary = pixel_cross_entropy(aux_labels, d_source_fake["aux"], reduction)
    return segmentation + weights.beta * cross_domain + weights.alpha * auxiliary


def effective_loss_weights(image_size, weights=REFERENCE_WEIGHTS, reduction="sum",
                           patch=True):
    """The weight each per-pixel-mean term effectively carries, for a void-free batch.

    With reduction "sum", a cross-entropy is its per-pixel mean times the number of
    pixels it sums over: H*W for segmentation, (H/8)(W/8) for D's heads (1 for an
    image-level domain head). The L1 terms are means in both modes.

    Args:
      image_size: (height, width) of the training input.
      weights: a `LossWeights`.
      reduction: "sum" or "mean".
      patch: whether D's domain head is per location.

    Returns:
      A dict of dicts: for each of "d", "g", "f", term name -> effective weight.
    """
    _check_reduction(reduction)
    height, width = image_size
    stride = discriminator_lib.OUTPUT_STRIDE
    if reduction == "sum":
        seg_pixels = height * width
        aux_pixels = (height // stride) * (width // stride)
        domain_pixels = aux_pixels if patch else 1
    else:
        seg_pixels = aux_pixels = domain_pixels = 1
    return {
        "d": {"domain": domain_pixels, "aux": aux_pixels},
        "g": {"aux": aux_pixels,
              "domain": weights.generator_adversarial * domain_pixels,
              "l1": weights.reconstruction},
        "f": {"segmentation": seg_pixels, "domain": weights.beta * domain_pixels,
              "aux": weights.alpha * aux_pixels},
    }


def _check_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"Unknown reduction {reduction!r}; use one of {REDUCTIONS}.")
