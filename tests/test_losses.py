"""Each loss on hand-computed values, with inputs that tell the terms and targets apart.

D's outputs here are random, peaked logits (not uniform ones, under which every domain
target gives the same value), so a term aimed at the wrong domain class, or reading the
wrong D output, changes the loss. `_cross_entropy` is an independent numpy version of the
reference's `cross_entropy2d`.
"""

import itertools
import math

import numpy as np
import pytest
import tensorflow as tf

from gta_keras import losses
from gta_keras.models import discriminator as discriminator_lib

LN2 = math.log(2.0)
D = discriminator_lib
DOMAINS = (D.SOURCE_REAL, D.SOURCE_FAKE, D.TARGET_REAL, D.TARGET_FAKE)
NUM_CLASSES = 3
D_SHAPE = (2, 2, 3)  # D's output maps: batch 2, 2x3 locations
WEIGHTS = losses.LossWeights(alpha=0.3, beta=0.2, reconstruction=2.0,
                             generator_adversarial=0.5)  # all different, none 1


def _two_class_logits(values):
    """Logits [1, 1, n, 2] whose softmax gives class 0 probability values[i]."""
    p = np.asarray(values, dtype=np.float64)
    logits = np.stack([np.log(p), np.log(1 - p)], -1)
    return tf.constant(logits[None, None], tf.float32)


def _cross_entropy(logits, labels, reduction="sum"):
    """numpy: per image, -log softmax at the label summed (or averaged) over non-void
    pixels; then the batch mean."""
    logits = np.asarray(logits, np.float64)
    labels = np.broadcast_to(np.asarray(labels), logits.shape[:-1])
    log_p = logits - logits.max(-1, keepdims=True)
    log_p = log_p - np.log(np.exp(log_p).sum(-1, keepdims=True))
    valid = labels != 255
    picked = np.take_along_axis(log_p, np.where(valid, labels, 0)[..., None], -1)[..., 0]
    per_image = -(picked * valid).reshape(len(logits), -1).sum(1)
    if reduction == "mean":
        per_image = per_image / np.maximum(valid.reshape(len(logits), -1).sum(1), 1)
    return per_image.mean()


def _peaked(rng, shape, scale=3.0):
    return tf.constant(rng.normal(size=shape) * scale, tf.float32)


def _random_d_outputs(rng, shape=D_SHAPE):
    """D's outputs with random peaked domain and aux logits."""
    return {"domain": _peaked(rng, shape + (4,)), "aux": _peaked(rng, shape + (NUM_CLASSES,))}


def _confident_d_outputs(domain, aux_class=0, shape=D_SHAPE):
    """D's outputs sure of one domain class (and one aux class) everywhere."""
    return {"domain": tf.one_hot(tf.fill(shape, domain), 4) * 20.0,
            "aux": tf.one_hot(tf.fill(shape, aux_class), NUM_CLASSES) * 20.0}


def _aux_labels(rng, shape=D_SHAPE):
    labels = rng.integers(0, NUM_CLASSES, shape)
    labels[0, 0, 0] = 255  # some void
    return tf.constant(labels, tf.int32)


def _images(rng, shape=(2, 16, 24, 3)):
    return tf.constant(rng.uniform(size=shape), tf.float32)


def test_pixel_cross_entropy_sum_and_mean_ignore_void():
    logits = _two_class_logits([0.5, 0.25, 0.9, 0.1])
    labels = tf.constant([[[0, 1, 255, 0]]])
    expected_sum = -math.log(0.5) - math.log(0.75) - math.log(0.1)
    np.testing.assert_allclose(losses.pixel_cross_entropy(labels, logits, "sum"),
                               expected_sum, rtol=1e-5)
    np.testing.assert_allclose(losses.pixel_cross_entropy(labels, logits, "mean"),
                               expected_sum / 3, rtol=1e-5)


def test_pixel_cross_entropy_averages_images_and_handles_all_void():
    logits = tf.zeros([2, 1, 2, 2])
    labels = tf.constant([[[0, 1]], [[255, 255]]])
    # Image 1: 2 ln2 summed, ln2 mean; image 2: all void, 0. Batch mean halves it.
    np.testing.assert_allclose(losses.pixel_cross_entropy(labels, logits, "sum"), LN2,
                               rtol=1e-5)
    np.testing.assert_allclose(losses.pixel_cross_entropy(labels, logits, "mean"),
                               LN2 / 2, rtol=1e-5)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_pixel_cross_entropy_matches_numpy_on_peaked_logits(reduction):
    rng = np.random.default_rng(0)
    logits = _peaked(rng, (2, 4, 5, 6))
    labels = rng.integers(0, 6, (2, 4, 5))
    labels[1, :2] = 255
    np.testing.assert_allclose(
        losses.pixel_cross_entropy(tf.constant(labels), logits, reduction),
        _cross_entropy(logits, labels, reduction), rtol=1e-5)


def test_domain_cross_entropy_targets_one_class_everywhere():
    logits = tf.zeros([1, 2, 3, 4])
    np.testing.assert_allclose(losses.domain_cross_entropy(logits, 2, "sum"),
                               6 * math.log(4), rtol=1e-5)
    np.testing.assert_allclose(losses.domain_cross_entropy(logits, 2, "mean"),
                               math.log(4), rtol=1e-5)
    peaked = _peaked(np.random.default_rng(1), (1, 2, 3, 4))
    for domain in DOMAINS:
        np.testing.assert_allclose(losses.domain_cross_entropy(peaked, domain),
                                   _cross_entropy(peaked, domain), rtol=1e-5)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_smoothed_domain_cross_entropy_is_keras_label_smoothing(reduction):
    """An independent reference: Keras' categorical cross-entropy with label smoothing
    e (targets (1 - e) one-hot + e / K), per location, then summed or averaged over the
    image's locations and averaged over the batch."""
    peaked = _peaked(np.random.default_rng(3), (2, 2, 3, 4))
    keras_ce = tf.keras.losses.CategoricalCrossentropy(
        from_logits=True, label_smoothing=0.2, reduction=None)
    for domain in DOMAINS:
        per_location = keras_ce(tf.one_hot(tf.fill([2, 2, 3], domain), 4), peaked)
        per_image = tf.reduce_sum(per_location, axis=[1, 2])
        if reduction == "mean":
            per_image /= 6
        np.testing.assert_allclose(
            losses.domain_cross_entropy(peaked, domain, reduction, label_smoothing=0.2),
            tf.reduce_mean(per_image), rtol=1e-5)
        # 0 is the plain cross-entropy, and 0.2 differs from it on these peaked logits
        # by 100 times the tolerance above or more.
        plain = _cross_entropy(peaked, domain, reduction)
        np.testing.assert_allclose(
            losses.domain_cross_entropy(peaked, domain, reduction, label_smoothing=0.0),
            plain, rtol=1e-5)
        assert abs(float(tf.reduce_mean(per_image)) - plain) > 1e-3 * plain


def test_smoothing_bounds_what_a_sure_discriminator_gains():
    """With smoothing D's loss is least at a finite confidence: pushing a sure logit
    further up raises it, where the plain loss keeps falling."""
    sure = lambda margin: tf.one_hot(tf.fill([1, 1, 1], D.SOURCE_REAL), 4) * margin
    smoothed = [float(losses.domain_cross_entropy(sure(m), D.SOURCE_REAL,
                                                  label_smoothing=0.2)) for m in (4, 20)]
    plain = [float(losses.domain_cross_entropy(sure(m), D.SOURCE_REAL)) for m in (4, 20)]
    assert smoothed[1] > smoothed[0] and plain[1] < plain[0]


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5])
def test_label_smoothing_outside_0_to_1_names_the_binding(bad):
    with pytest.raises(ValueError, match=r"build_model.d_label_smoothing .* \[0, 1\)"):
        losses.check_label_smoothing(bad)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_d_loss_smooths_the_four_domain_terms_and_not_the_aux_term(reduction):
    rng = np.random.default_rng(4)
    source_real, source_fake, target_real, target_fake = (
        _random_d_outputs(rng) for _ in range(4))
    aux_labels = _aux_labels(rng)
    smoothed = lambda out, domain: losses.domain_cross_entropy(
        out["domain"], domain, reduction, label_smoothing=0.1)
    terms = losses.d_loss_terms(source_real, source_fake, target_real, target_fake,
                                aux_labels, reduction, label_smoothing=0.1)
    expected = {"source_real": smoothed(source_real, D.SOURCE_REAL),
                "source_fake": smoothed(source_fake, D.SOURCE_FAKE),
                "aux": _cross_entropy(source_real["aux"], aux_labels, reduction),
                "target_real": smoothed(target_real, D.TARGET_REAL),
                "target_fake": smoothed(target_fake, D.TARGET_FAKE)}
    assert list(terms) == list(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(terms[name], value, rtol=1e-5, err_msg=name)


def test_l1_reconstruction_is_a_mean():
    images = tf.zeros([1, 2, 2, 3])
    recon = tf.concat([tf.ones([1, 1, 2, 3]), tf.zeros([1, 1, 2, 3])], axis=1)
    np.testing.assert_allclose(losses.l1_reconstruction(images, recon), 0.5)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_d_loss_is_five_terms_each_with_its_own_target(reduction):
    """L_D = CE(D(x_s), src-real) + CE(D(G(F(x_s))), src-fake) + CE(D_aux(x_s), y_s)
    + CE(D(x_t), tgt-real) + CE(D(G(F(x_t))), tgt-fake)."""
    rng = np.random.default_rng(2)
    source_real, source_fake, target_real, target_fake = (
        _random_d_outputs(rng) for _ in range(4))
    aux_labels = _aux_labels(rng)
    ce = lambda out, target: _cross_entropy(out, target, reduction)
    expected = (ce(source_real["domain"], D.SOURCE_REAL)
                + ce(source_fake["domain"], D.SOURCE_FAKE)
                + ce(source_real["aux"], aux_labels)
                + ce(target_real["domain"], D.TARGET_REAL)
                + ce(target_fake["domain"], D.TARGET_FAKE))
    value = losses.d_loss(source_real, source_fake, target_real, target_fake, aux_labels,
                          reduction)
    np.testing.assert_allclose(value, expected, rtol=1e-5)
    # The inputs tell targets apart: swapping src-real and src-fake changes the sum far
    # beyond the tolerance above.
    swapped = (expected - ce(source_real["domain"], D.SOURCE_REAL)
               - ce(source_fake["domain"], D.SOURCE_FAKE)
               + ce(source_real["domain"], D.SOURCE_FAKE)
               + ce(source_fake["domain"], D.SOURCE_REAL))
    assert abs(swapped - expected) > 1e-2 * abs(expected)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_g_loss_on_peaked_logits(reduction):
    """L_G = CE(D_aux(G(F(x_s))), y_s) + 0.1 [CE(D(G(F(x_s))), src-real)
    + CE(D(G(F(x_t))), tgt-real)] + w_rec [L1(G(F(x_s)), x_s) + L1(G(F(x_t)), x_t)]."""
    rng = np.random.default_rng(3)
    source_fake, target_fake = _random_d_outputs(rng), _random_d_outputs(rng)
    aux_labels = _aux_labels(rng)
    xs, gs, xt, gt = (_images(rng) for _ in range(4))
    ce = lambda out, target: _cross_entropy(out, target, reduction)
    l1 = lambda a, b: np.mean(np.abs(a.numpy() - b.numpy()))
    expected = (ce(source_fake["aux"], aux_labels)
                + WEIGHTS.generator_adversarial * (ce(source_fake["domain"], D.SOURCE_REAL)
                                                   + ce(target_fake["domain"], D.TARGET_REAL))
                + WEIGHTS.reconstruction * (l1(xs, gs) + l1(xt, gt)))
    value = losses.g_loss(source_fake, target_fake, aux_labels, xs, gs, xt, gt, WEIGHTS,
                          reduction)
    np.testing.assert_allclose(value, expected, rtol=1e-5)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_f_loss_on_peaked_logits_and_source_only(reduction):
    """L_F = CE(C(F(x_s)), y_s) + beta [CE(D(G(F(x_s))), tgt-real)
    + CE(D(G(F(x_t))), src-real)] + alpha CE(D_aux(G(F(x_s))), y_s)."""
    rng = np.random.default_rng(4)
    seg_logits = _peaked(rng, (2, 16, 24, NUM_CLASSES))
    labels = _aux_labels(rng, (2, 16, 24))
    source_fake, target_fake = _random_d_outputs(rng), _random_d_outputs(rng)
    aux_labels = _aux_labels(rng)
    ce = lambda out, target: _cross_entropy(out, target, reduction)
    segmentation = ce(seg_logits, labels)
    expected = (segmentation
                + WEIGHTS.beta * (ce(source_fake["domain"], D.TARGET_REAL)
                                  + ce(target_fake["domain"], D.SOURCE_REAL))
                + WEIGHTS.alpha * ce(source_fake["aux"], aux_labels))
    value = losses.f_loss(seg_logits, labels, source_fake, target_fake, aux_labels,
                          WEIGHTS, reduction)
    np.testing.assert_allclose(value, expected, rtol=1e-5)
    source_only = losses.f_loss(seg_logits, labels, None, None, aux_labels, WEIGHTS,
                                reduction)
    np.testing.assert_allclose(source_only, segmentation, rtol=1e-5)


def _lowest(loss_of_assignment, num_inputs):
    """The assignment of confident domain classes to D's inputs with the lowest loss."""
    values = {classes: float(loss_of_assignment(classes))
              for classes in itertools.product(DOMAINS, repeat=num_inputs)}
    best = min(values, key=values.get)
    runner_up = min(v for k, v in values.items() if k != best)
    assert runner_up > values[best] + 1.0, "no unique best assignment"
    return best


def test_d_is_best_when_it_names_each_input_s_domain():
    aux_labels = tf.zeros(D_SHAPE, tf.int32)
    best = _lowest(lambda c: losses.d_loss(*(_confident_d_outputs(d) for d in c),
                                           aux_labels), 4)
    assert best == (D.SOURCE_REAL, D.SOURCE_FAKE, D.TARGET_REAL, D.TARGET_FAKE)


def test_g_pushes_source_fakes_to_src_real_and_target_fakes_to_tgt_real():
    aux_labels = tf.zeros(D_SHAPE, tf.int32)
    images = tf.zeros([2, 16, 24, 3])
    best = _lowest(lambda c: losses.g_loss(
        _confident_d_outputs(c[0]), _confident_d_outputs(c[1]), aux_labels, images,
        images, images, images), 2)
    assert best == (D.SOURCE_REAL, D.TARGET_REAL)


def test_f_pushes_source_fakes_to_tgt_real_and_target_fakes_to_src_real():
    aux_labels = tf.zeros(D_SHAPE, tf.int32)
    seg_logits, labels = tf.zeros([2, 16, 24, NUM_CLASSES]), tf.zeros([2, 16, 24], tf.int32)
    best = _lowest(lambda c: losses.f_loss(
        seg_logits, labels, _confident_d_outputs(c[0]), _confident_d_outputs(c[1]),
        aux_labels), 2)
    assert best == (D.TARGET_REAL, D.SOURCE_REAL)


def _aux_gradients(loss_fn, outputs):
    """Which D outputs' aux logits the loss depends on: name -> gradient is nonzero."""
    with tf.GradientTape() as tape:
        for out in outputs.values():
            tape.watch(out["aux"])
        value = loss_fn(outputs)
    gradients = tape.gradient(value, {name: out["aux"] for name, out in outputs.items()})
    return {name: g is not None and float(tf.reduce_max(tf.abs(g))) > 0
            for name, g in gradients.items()}


def test_d_s_aux_term_reads_d_of_x_s_and_g_s_and_f_s_read_d_of_g_f_x_s():
    rng = np.random.default_rng(5)
    outputs = {name: _random_d_outputs(rng) for name in
               ("source_real", "source_fake", "target_real", "target_fake")}
    aux_labels = _aux_labels(rng)
    images = _images(rng)
    d_reads = _aux_gradients(lambda o: losses.d_loss(
        o["source_real"], o["source_fake"], o["target_real"], o["target_fake"],
        aux_labels), outputs)
    assert d_reads == {"source_real": True, "source_fake": False, "target_real": False,
                       "target_fake": False}
    fakes = {name: outputs[name] for name in ("source_fake", "target_fake")}
    g_reads = _aux_gradients(lambda o: losses.g_loss(
        o["source_fake"], o["target_fake"], aux_labels, images, images, images, images),
        fakes)
    assert g_reads == {"source_fake": True, "target_fake": False}
    f_reads = _aux_gradients(lambda o: losses.f_loss(
        _peaked(rng, (2, 16, 24, NUM_CLASSES)), tf.zeros([2, 16, 24], tf.int32),
        o["source_fake"], o["target_fake"], aux_labels), fakes)
    assert f_reads == {"source_fake": True, "target_fake": False}


# Every reduction, D kind and weighting at a small size; the reference's own setting
# (640x320, 19 classes, sums, patch D, its weights) at full size.
EFFECTIVE_WEIGHT_CASES = [
    ((32, 64), 5, reduction, patch, weights)
    for reduction in ("sum", "mean") for patch in (True, False)
    for weights in (losses.REFERENCE_WEIGHTS, WEIGHTS)
] + [((320, 640), 19, "sum", True, losses.REFERENCE_WEIGHTS)]


@pytest.mark.parametrize("image_size,num_classes,reduction,patch,weights",
                         EFFECTIVE_WEIGHT_CASES)
def test_effective_weights_are_the_ratios_the_losses_produce(image_size, num_classes,
                                                             reduction, patch, weights):
    """`effective_loss_weights` against the losses: change one term's per-pixel mean by
    a known amount and read off how much the loss moves, term by term."""
    rng = np.random.default_rng(6)
    height, width = image_size
    batch = 2
    stride = D.OUTPUT_STRIDE
    aux_shape = (batch, height // stride, width // stride)
    domain_shape = aux_shape if patch else (batch, 1, 1)
    labels = tf.constant(rng.integers(0, num_classes, (batch, height, width)), tf.int32)
    aux_labels = tf.constant(rng.integers(0, num_classes, aux_shape), tf.int32)
    images = tf.fill([batch, height, width, 3], 0.5)

    def d_out():
        return {"domain": tf.zeros(domain_shape + (4,)),
                "aux": tf.zeros(aux_shape + (num_classes,))}

    # C sure of the labels (segmentation CE about 0), so that F's small terms are not
    # lost in float32 next to a large segmentation sum.
    base = {"seg": tf.one_hot(labels, num_classes) * 30.0,
            "source_real": d_out(), "source_fake": d_out(), "target_real": d_out(),
            "target_fake": d_out(), "source_reconstruction": images,
            "target_reconstruction": images}

    def player_loss(player, x):
        if player == "d":
            return losses.d_loss(x["source_real"], x["source_fake"], x["target_real"],
                                 x["target_fake"], aux_labels, reduction)
        if player == "g":
            return losses.g_loss(x["source_fake"], x["target_fake"], aux_labels, images,
                                 x["source_reconstruction"], images,
                                 x["target_reconstruction"], weights, reduction)
        return losses.f_loss(x["seg"], labels, x["source_fake"], x["target_fake"],
                             aux_labels, weights, reduction)

    def perturbed(input_name, head=None, target=None):
        """The inputs with one of them changed, and the change of the per-pixel mean of
        that term (its cross-entropy against `target`, or its L1)."""
        x = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
        if input_name.endswith("reconstruction"):
            x[input_name] = images + 0.25
            return x, 0.25
        old = base[input_name] if head is None else base[input_name][head]
        new = _peaked(rng, old.shape, scale=10.0)  # a large change, for float32
        if head is None:
            x[input_name] = new
        else:
            x[input_name][head] = new
        return x, _cross_entropy(new, target, "mean") - _cross_entropy(old, target, "mean")

    # (player, table entry) -> the terms that carry that weight: (input, head, target).
    probes = {
        ("d", "domain"): [("source_real", "domain", D.SOURCE_REAL),
                          ("source_fake", "domain", D.SOURCE_FAKE),
                          ("target_real", "domain", D.TARGET_REAL),
                          ("target_fake", "domain", D.TARGET_FAKE)],
        ("d", "aux"): [("source_real", "aux", aux_labels)],
        ("g", "aux"): [("source_fake", "aux", aux_labels)],
        ("g", "domain"): [("source_fake", "domain", D.SOURCE_REAL),
                          ("target_fake", "domain", D.TARGET_REAL)],
        ("g", "l1"): [("source_reconstruction", None, None),
                      ("target_reconstruction", None, None)],
        ("f", "segmentation"): [("seg", None, labels)],
        ("f", "domain"): [("source_fake", "domain", D.TARGET_REAL),
                          ("target_fake", "domain", D.SOURCE_REAL)],
        ("f", "aux"): [("source_fake", "aux", aux_labels)],
    }
    table = losses.effective_loss_weights(image_size, weights, reduction, patch)
    base_values = {player: float(player_loss(player, base)) for player in "dgf"}
    for (player, term), terms in probes.items():
        for input_name, head, target in terms:
            x, change = perturbed(input_name, head, target)
            moved = float(player_loss(player, x)) - base_values[player]
            assert moved / change == pytest.approx(table[player][term], rel=1e-3), (
                player, term, input_name)
    assert set(table["d"]) == {"domain", "aux"}
    assert set(table["g"]) == {"aux", "domain", "l1"}
    assert set(table["f"]) == {"segmentation", "domain", "aux"}


def test_sum_reduction_equals_mean_times_pixel_count():
    rng = np.random.default_rng(0)
    logits = tf.constant(rng.normal(size=(2, 4, 8, 5)), tf.float32)
    labels = tf.constant(rng.integers(0, 5, size=(2, 4, 8)))
    np.testing.assert_allclose(losses.pixel_cross_entropy(labels, logits, "sum"),
                               32 * losses.pixel_cross_entropy(labels, logits, "mean"),
                               rtol=1e-5)


def test_unknown_reduction_is_rejected():
    with pytest.raises(ValueError, match="reduction"):
        losses.pixel_cross_entropy(tf.zeros([1, 1, 1], tf.int32), tf.zeros([1, 1, 1, 2]),
                                   "average")
