"""The losses of the three updates, as pure functions.

Each term is a per-image quantity averaged over the batch. Cross-entropies can be reduced
over pixels in two ways: "sum" (the reference code: `cross_entropy2d(size_average=False)`,
a sum over the image's non-void pixels) or "mean" (a mean over non-void pixels). The L1
reconstruction loss is always a mean over pixels and channels, as in the reference.

With "sum", the written coefficients (alpha, beta, w_rec, 0.1) are not the effective
relative weights: a cross-entropy at D's 1/8 resolution counts (H/8)(W/8) times, the
segmentation loss H*W times, the L1 term once. `effective_loss_weights` spells out that
conversion.

The ablations (paper Table 4, `docs/ablations.md`) reuse these losses: "no_aux" drops every
auxiliary term (its D has no labelling head), "global_d" scales its image-level domain
cross-entropies by `domain_scale` (see `image_level_domain_scale`), and "feature_d" plays a
2-class source/target game on F's fc7 (`feature_d_loss`, `feature_f_loss`).
"""

import collections

import tensorflow as tf

from gta_keras import errors
from gta_keras import protocols
from gta_keras.models import discriminator as discriminator_lib
from gta_keras.models import feature_discriminator as feature_discriminator_lib

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
    check_reduction(reduction)
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


def domain_cross_entropy(domain_logits, domain, reduction="sum", label_smoothing=0.0):
    """Cross-entropy of D's domain head against one domain class everywhere.

    L = sum_p -log softmax(domain_logits_p)[domain] per image ("sum"; "mean" divides by
    the number of locations), averaged over the batch. With label smoothing e the target
    at each location is (1 - e) on `domain` plus e / K on each of the K classes:
    L = sum_p [(1 - e) (-log softmax_p[domain]) + (e / K) sum_k (-log softmax_p[k])].

    Args:
      domain_logits: float [B, h, w, K].
      domain: one of SOURCE_REAL, SOURCE_FAKE, TARGET_REAL, TARGET_FAKE.
      reduction: "sum" or "mean" over locations.
      label_smoothing: e in [0, 1); 0 is the plain cross-entropy.

    Returns:
      Scalar float32.
    """
    labels = tf.fill(tf.shape(domain_logits)[:3], domain)
    hard = pixel_cross_entropy(labels, domain_logits, reduction)
    if not label_smoothing:
        return hard
    # Every location holds a domain label (none is void), so the uniform part reduces
    # like the hard one: the per-location mean over classes of -log softmax.
    uniform = -tf.reduce_mean(tf.nn.log_softmax(tf.cast(domain_logits, tf.float32)),
                              axis=-1)
    uniform = tf.reduce_sum(uniform, axis=[1, 2])
    if reduction == "mean":
        uniform /= tf.cast(tf.reduce_prod(tf.shape(domain_logits)[1:3]), tf.float32)
    return (1.0 - label_smoothing) * hard + label_smoothing * tf.reduce_mean(uniform)


def check_label_smoothing(label_smoothing):
    """Raises a ConfigurationError naming the binding unless 0 <= label_smoothing < 1."""
    if not 0.0 <= label_smoothing < 1.0:
        raise errors.ConfigurationError(
            f"build_model.d_label_smoothing = {label_smoothing!r}: must be in [0, 1) (0 is "
            "the paper's plain cross-entropy; 0.1-0.2 is usual).")


def r1_penalty(input_gradients):
    """The R1 gradient penalty on D's real images (Mescheder et al., ICML 2018).

    R1 = sum over the given inputs x of mean_i ||dL_real/dx_i||^2: the squared norm of the
    gradient of D's real-domain cross-entropy with respect to each real image, averaged
    over the batch. It penalises a D whose judgement of real images changes fast when they
    change, so that D cannot become certain on a narrow edge around the real data. The
    caller weighs it by gamma / 2. Off by default: on the demo a smooth D gave F a weaker
    adversarial signal and lowered lsd's target score on weak and strong seeds alike
    (docs/experiments/2026-12-07-r1-penalty.md).

    Args:
      input_gradients: a list of float [B, H, W, 3]: each real batch's per-image gradient
        (the gradient of the batch's summed, not averaged, cross-entropy).

    Returns:
      Scalar float32.
    """
    return _sum([tf.reduce_mean(tf.reduce_sum(tf.square(tf.cast(g, tf.float32)),
                                              axis=[1, 2, 3]))
                 for g in input_gradients])


def check_r1_weight(r1_weight):
    """Raises a ConfigurationError naming the binding unless r1_weight >= 0."""
    if not r1_weight >= 0.0:
        raise errors.ConfigurationError(
            f"build_model.d_r1_weight = {r1_weight!r}: must be >= 0 (gamma of the R1 "
            "penalty on D's real images, added to D's loss as gamma / 2 * R1; 0 is off).")


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

# The names of each loss's terms (`*_loss_terms`), in the order the loss adds them. "aux"
# is absent for a D without an auxiliary head ("no_aux"); source-only's F has only
# "segmentation".
D_TERMS = ("source_real", "source_fake", "aux", "target_real", "target_fake")
G_TERMS = ("aux", "adversarial_source", "adversarial_target", "l1_source", "l1_target")
F_TERMS = ("segmentation", "cross_domain_source", "cross_domain_target", "aux")
FEATURE_D_TERMS = ("source", "target")
FEATURE_F_TERMS = ("segmentation", "cross_domain_source", "cross_domain_target")


def _scaled(value, scale):
    """`value * scale`, or `value` itself (bit for bit) when there is no scale."""
    return value if scale is None else value * scale


def _sum(terms):
    """Left-to-right sum, the same float operations as writing `a + b + c`."""
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def image_level_domain_scale(patch_locations, reduction="sum"):
    """The factor on an image-level D's domain cross-entropies ("global_d").

    Under "sum", the patch D's domain CE of one image sums over its (H/8)(W/8) locations,
    an image-level D's over 1: left alone, the "w/o patch" ablation would weigh every
    adversarial term (in D, G and F) (H/8)(W/8) times less against the segmentation and
    L1 losses (e.g. 128 times at the demo's 64x128, 3200 at 320x640), and would confound
    "no patch" with "almost no adversarial signal". Multiplying the image-level CE by the
    number of patch locations gives it the patch D's effective weight (its per-location
    mean times the locations), so only the spatial structure of the decision changes.
    Under "mean" both are means over locations already: no factor.

    Args:
      patch_locations: (H/8)(W/8), the locations of the patch D's domain map (a scalar
        or a tensor).
      reduction: "sum" or "mean".

    Returns:
      The factor, or None (no scaling) under "mean".
    """
    check_reduction(reduction)
    return patch_locations if reduction == "sum" else None


def feature_domain_scale(patch_locations, feature_locations, reduction="sum"):
    """The factor on the feature D's cross-entropies ("feature_d").

    The feature D decides per fc7 location, (H/32)(W/32) of them, 16 times fewer than the
    patch D's (H/8)(W/8). Under "sum" its summed CE is multiplied by their ratio, so that
    the adversarial terms keep the patch D's effective weight against the segmentation
    loss (as `image_level_domain_scale` does for "global_d"); under "mean", none.

    Args:
      patch_locations: (H/8)(W/8).
      feature_locations: (H/32)(W/32), the locations of fc7.
      reduction: "sum" or "mean".

    Returns:
      The factor, or None under "mean".
    """
    check_reduction(reduction)
    if reduction == "mean":
        return None
    return patch_locations / feature_locations


def d_loss(d_source_real, d_source_fake, d_target_real, d_target_fake, aux_labels,
           reduction="sum", domain_scale=None, label_smoothing=0.0):
    """D update: L_D = CE(D(x_s), src-real) + CE(D(G(F(x_s))), src-fake)
    + CE(D_aux(x_s), y_s) + CE(D(x_t), tgt-real) + CE(D(G(F(x_t))), tgt-fake).

    Args:
      d_source_real, d_source_fake, d_target_real, d_target_fake: D's outputs (dicts with
        "domain" and "aux" logits) on x_s, G(F(x_s)), x_t and G(F(x_t)). Without "aux"
        (a D with no labelling head, "no_aux"), the auxiliary term is absent.
      aux_labels: y_s at D's resolution, int [B, h, w].
      reduction: "sum" or "mean" over pixels.
      domain_scale: None, or a factor on each domain cross-entropy (see
        `image_level_domain_scale`).
      label_smoothing: smoothing of D's four domain targets (`domain_cross_entropy`);
        not of the auxiliary labels. 0 in the paper.

    Returns:
      Scalar float32.
    """
    return d_total(d_loss_terms(d_source_real, d_source_fake, d_target_real, d_target_fake,
                                aux_labels, reduction, domain_scale, label_smoothing))


def d_loss_terms(d_source_real, d_source_fake, d_target_real, d_target_fake, aux_labels,
                 reduction="sum", domain_scale=None, label_smoothing=0.0):
    """The terms of `d_loss` by name (`D_TERMS`), in the order it adds them.

    Each term as it enters the sum (with `domain_scale`); the arguments are `d_loss`'s.
    "aux" is absent for a D without an auxiliary head.

    Returns:
      A dict of scalar float32.
    """
    ce = lambda out, domain: _scaled(
        domain_cross_entropy(out["domain"], domain, reduction, label_smoothing),
        domain_scale)
    terms = {"source_real": ce(d_source_real, discriminator_lib.SOURCE_REAL),
             "source_fake": ce(d_source_fake, discriminator_lib.SOURCE_FAKE)}
    if "aux" in d_source_real:
        terms["aux"] = pixel_cross_entropy(aux_labels, d_source_real["aux"], reduction)
    terms["target_real"] = ce(d_target_real, discriminator_lib.TARGET_REAL)
    terms["target_fake"] = ce(d_target_fake, discriminator_lib.TARGET_FAKE)
    return terms


def d_total(terms):
    """L_D from `d_loss_terms` (or `feature_d_loss_terms`): their sum, in their order."""
    return _sum(list(terms.values()))


def g_loss(d_source_fake, d_target_fake, aux_labels, source_images, source_reconstructions,
           target_images, target_reconstructions, weights=REFERENCE_WEIGHTS,
           reduction="sum", domain_scale=None):
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
      domain_scale: None, or a factor on each domain cross-entropy ("global_d").

    D's outputs without "aux" ("no_aux") drop the auxiliary term.

    Returns:
      Scalar float32.
    """
    return g_total(g_loss_terms(d_source_fake, d_target_fake, aux_labels, source_images,
                                source_reconstructions, target_images,
                                target_reconstructions, reduction, domain_scale), weights)


def g_loss_terms(d_source_fake, d_target_fake, aux_labels, source_images,
                 source_reconstructions, target_images, target_reconstructions,
                 reduction="sum", domain_scale=None):
    """The terms of `g_loss` by name (`G_TERMS`), before their written coefficients.

    "adversarial_source" is CE(D(G(F(x_s))), src-real) (with `domain_scale`),
    "adversarial_target" CE(D(G(F(x_t))), tgt-real), "l1_source" and "l1_target" the two
    L1 terms, "aux" CE(D_aux(G(F(x_s))), y_s) (absent without an auxiliary head). The
    arguments are `g_loss`'s.

    Returns:
      A dict of scalar float32.
    """
    terms = {}
    if "aux" in d_source_fake:
        terms["aux"] = pixel_cross_entropy(aux_labels, d_source_fake["aux"], reduction)
    terms["adversarial_source"] = _scaled(
        domain_cross_entropy(d_source_fake["domain"], discriminator_lib.SOURCE_REAL,
                             reduction), domain_scale)
    terms["adversarial_target"] = _scaled(
        domain_cross_entropy(d_target_fake["domain"], discriminator_lib.TARGET_REAL,
                             reduction), domain_scale)
    terms["l1_source"] = l1_reconstruction(source_images, source_reconstructions)
    terms["l1_target"] = l1_reconstruction(target_images, target_reconstructions)
    return terms


def g_total(terms, weights=REFERENCE_WEIGHTS):
    """L_G from `g_loss_terms`: aux + 0.1 (adversarial) + w_rec (L1), as `g_loss` adds."""
    adversarial = terms["adversarial_source"] + terms["adversarial_target"]
    reconstruction = terms["l1_source"] + terms["l1_target"]
    parts = [terms["aux"]] if "aux" in terms else []
    parts += [weights.generator_adversarial * adversarial,
              weights.reconstruction * reconstruction]
    return _sum(parts)


def f_loss(segmentation_logits, labels, d_source_fake, d_target_fake, aux_labels,
           weights=REFERENCE_WEIGHTS, reduction="sum", domain_scale=None):
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
      domain_scale: None, or a factor on each domain cross-entropy ("global_d").

    D's outputs without "aux" ("no_aux") drop the auxiliary term (alpha is unused).

    Returns:
      Scalar float32.
    """
    return f_total(f_loss_terms(segmentation_logits, labels, d_source_fake, d_target_fake,
                                aux_labels, reduction, domain_scale), weights)


def f_loss_terms(segmentation_logits, labels, d_source_fake, d_target_fake, aux_labels,
                 reduction="sum", domain_scale=None):
    """The terms of `f_loss` by name (`F_TERMS`), before their written coefficients.

    "segmentation" is CE(C(F(x_s)), y_s), "cross_domain_source" CE(D(G(F(x_s))), tgt-real)
    and "cross_domain_target" CE(D(G(F(x_t))), src-real) (with `domain_scale`), "aux"
    CE(D_aux(G(F(x_s))), y_s). Source-only (`d_source_fake` None) has "segmentation"
    alone; a D without an auxiliary head no "aux". The arguments are `f_loss`'s.

    Returns:
      A dict of scalar float32.
    """
    terms = {"segmentation": pixel_cross_entropy(labels, segmentation_logits, reduction)}
    if d_source_fake is None:
        return terms
    terms["cross_domain_source"] = _scaled(
        domain_cross_entropy(d_source_fake["domain"], discriminator_lib.TARGET_REAL,
                             reduction), domain_scale)
    terms["cross_domain_target"] = _scaled(
        domain_cross_entropy(d_target_fake["domain"], discriminator_lib.SOURCE_REAL,
                             reduction), domain_scale)
    if "aux" in d_source_fake:
        terms["aux"] = pixel_cross_entropy(aux_labels, d_source_fake["aux"], reduction)
    return terms


def f_total(terms, weights=REFERENCE_WEIGHTS):
    """L_F from `f_loss_terms` (or `feature_f_loss_terms`), as `f_loss` adds them:
    segmentation + beta (cross-domain) [+ alpha aux]."""
    segmentation = terms["segmentation"]
    if "cross_domain_source" not in terms:
        return segmentation
    cross_domain = terms["cross_domain_source"] + terms["cross_domain_target"]
    if "aux" not in terms:
        return segmentation + weights.beta * cross_domain
    return segmentation + weights.beta * cross_domain + weights.alpha * terms["aux"]


def feature_d_loss(d_source, d_target, reduction="sum", domain_scale=None,
                   label_smoothing=0.0):
    """Feature D update ("feature_d"): L_D = CE(D(F(x_s)), source) + CE(D(F(x_t)), target).

    The 2-class game on fc7 (`feature_discriminator`): each fc7 location is classified
    source (0) or target (1).

    Args:
      d_source, d_target: the feature D's outputs ({"domain": [B, h, w, 2]}) on F(x_s)'s
        and F(x_t)'s fc7.
      reduction: "sum" or "mean" over locations.
      domain_scale: None, or a factor on each cross-entropy (`feature_domain_scale`).
      label_smoothing: smoothing of the two domain targets (`domain_cross_entropy`).

    Returns:
      Scalar float32.
    """
    return d_total(feature_d_loss_terms(d_source, d_target, reduction, domain_scale,
                                        label_smoothing))


def feature_d_loss_terms(d_source, d_target, reduction="sum", domain_scale=None,
                         label_smoothing=0.0):
    """The terms of `feature_d_loss` by name (`FEATURE_D_TERMS`): "source" and "target",
    each with `domain_scale`. The arguments are `feature_d_loss`'s."""
    ce = lambda out, domain: _scaled(
        domain_cross_entropy(out["domain"], domain, reduction, label_smoothing),
        domain_scale)
    return {"source": ce(d_source, feature_discriminator_lib.SOURCE),
            "target": ce(d_target, feature_discriminator_lib.TARGET)}


def feature_f_loss(segmentation_logits, labels, d_source, d_target,
                   weights=REFERENCE_WEIGHTS, reduction="sum", domain_scale=None):
    """F and C update of "feature_d": L_F = CE(C(F(x_s)), y_s)
    + beta [CE(D(F(x_s)), target) + CE(D(F(x_t)), source)].

    F's cross-domain loss reverses the domain labels (the inverted-label form of FCNs in
    the wild's global alignment, and of the paper's own F update): source features that
    D calls target, target features it calls source.

    Args:
      segmentation_logits: C(F(x_s)) [B, H, W, K].
      labels: y_s int [B, H, W].
      d_source, d_target: the feature D's outputs on F(x_s)'s and F(x_t)'s fc7.
      weights: a `LossWeights` (beta; alpha is unused: there is no auxiliary head).
      reduction: "sum" or "mean".
      domain_scale: None, or a factor on each domain cross-entropy.

    Returns:
      Scalar float32.
    """
    return f_total(feature_f_loss_terms(segmentation_logits, labels, d_source, d_target,
                                        reduction, domain_scale), weights)


def feature_f_loss_terms(segmentation_logits, labels, d_source, d_target, reduction="sum",
                         domain_scale=None):
    """The terms of `feature_f_loss` by name (`FEATURE_F_TERMS`): "segmentation",
    "cross_domain_source" (CE(D(F(x_s)), target)) and "cross_domain_target"
    (CE(D(F(x_t)), source)), before beta. The arguments are `feature_f_loss`'s."""
    ce = lambda out, domain: _scaled(domain_cross_entropy(out["domain"], domain, reduction),
                                     domain_scale)
    return {"segmentation": pixel_cross_entropy(labels, segmentation_logits, reduction),
            "cross_domain_source": ce(d_source, feature_discriminator_lib.TARGET),
            "cross_domain_target": ce(d_target, feature_discriminator_lib.SOURCE)}


def effective_loss_weights(image_size, weights=REFERENCE_WEIGHTS, reduction="sum",
                           patch=True, domain_scale=None, aux=True):
    """The weight each per-pixel-mean term effectively carries, for a void-free batch.

    With reduction "sum", a cross-entropy is its per-pixel mean times the number of
    pixels it sums over: H*W for segmentation, (H/8)(W/8) for D's heads (1 for an
    image-level domain head). The L1 terms are means in both modes.

    Args:
      image_size: (height, width) of the training input.
      weights: a `LossWeights`.
      reduction: "sum" or "mean".
      patch: whether D's domain head is per location.
      domain_scale: None, or the factor on D's domain cross-entropies ("global_d":
        `image_level_domain_scale`, which gives back the patch D's weights).
      aux: False for a D without an auxiliary head ("no_aux"): no "aux" entries.

    Returns:
      A dict of dicts: for each of "d", "g", "f", term name -> effective weight.
    """
    check_reduction(reduction)
    height, width = image_size
    stride = discriminator_lib.OUTPUT_STRIDE
    if reduction == "sum":
        seg_pixels = height * width
        aux_pixels = (height // stride) * (width // stride)
        domain_pixels = aux_pixels if patch else 1
    else:
        seg_pixels = aux_pixels = domain_pixels = 1
    if domain_scale is not None:
        domain_pixels = domain_pixels * domain_scale
    result = {
        "d": {"domain": domain_pixels, "aux": aux_pixels},
        "g": {"aux": aux_pixels,
              "domain": weights.generator_adversarial * domain_pixels,
              "l1": weights.reconstruction},
        "f": {"segmentation": seg_pixels, "domain": weights.beta * domain_pixels,
              "aux": weights.alpha * aux_pixels},
    }
    if not aux:
        for player in result.values():
            player.pop("aux")
    return result


def check_reduction(reduction):
    """Raises a ConfigurationError naming the choices unless `reduction` is one of them."""
    if reduction not in REDUCTIONS:
        raise errors.ConfigurationError(
            f"Unknown reduction {reduction!r}; use one of {REDUCTIONS}.")
