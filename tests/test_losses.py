"""Each loss on hand-computed values."""

import math

import numpy as np
import pytest
import tensorflow as tf

from gta_keras import losses
from gta_keras.models import discriminator as discriminator_lib

LN2 = math.log(2.0)


def _two_class_logits(values):
    """Logits [1, 1, n, 2] whose softmax gives class 0 probability values[i]."""
    p = np.asarray(values, dtype=np.float64)
    logits = np.stack([np.log(p), np.log(1 - p)], -1)
    return tf.constant(logits[None, None], tf.float32)


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


def test_domain_cross_entropy_targets_one_class_everywhere():
    logits = tf.zeros([1, 2, 3, 4])
    np.testing.assert_allclose(losses.domain_cross_entropy(logits, 2, "sum"),
                               6 * math.log(4), rtol=1e-5)
    np.testing.assert_allclose(losses.domain_cross_entropy(logits, 2, "mean"),
                               math.log(4), rtol=1e-5)
    confident = tf.one_hot(tf.fill([1, 2, 3], 3), 4) * 100.0
    assert float(losses.domain_cross_entropy(confident, 3)) < 1e-6


def test_l1_reconstruction_is_a_mean():
    images = tf.zeros([1, 2, 2, 3])
    recon = tf.concat([tf.ones([1, 1, 2, 3]), tf.zeros([1, 1, 2, 3])], axis=1)
    np.testing.assert_allclose(losses.l1_reconstruction(images, recon), 0.5)


def _d_outputs(domain_class, aux_class, shape=(1, 2, 2), num_classes=3, scale=0.0):
    """D outputs that are uniform (scale 0) or confident in the given classes."""
    return {"domain": tf.one_hot(tf.fill(shape, domain_class), 4) * scale,
            "aux": tf.one_hot(tf.fill(shape, aux_class), num_classes) * scale}


def test_d_loss_sums_five_terms():
    uniform = _d_outputs(0, 0)
    aux_labels = tf.zeros([1, 2, 2], tf.int32)
    # Five cross-entropies of 4 locations each; domain ones ln4, aux one ln3.
    expected = 4 * (4 * math.log(4)) + 4 * math.log(3)
    np.testing.assert_allclose(
        losses.d_loss(uniform, uniform, uniform, uniform, aux_labels, "sum"), expected,
        rtol=1e-5)


def test_d_loss_is_zero_for_a_perfect_discriminator():
    d = discriminator_lib
    aux_labels = tf.ones([1, 2, 2], tf.int32)
    value = losses.d_loss(_d_outputs(d.SOURCE_REAL, 1, scale=100.0),
                          _d_outputs(d.SOURCE_FAKE, 1, scale=100.0),
                          _d_outputs(d.TARGET_REAL, 1, scale=100.0),
                          _d_outputs(d.TARGET_FAKE, 1, scale=100.0), aux_labels)
    assert float(value) < 1e-5


def test_g_loss_weights():
    uniform = _d_outputs(0, 0)
    aux_labels = tf.zeros([1, 2, 2], tf.int32)
    images = tf.zeros([1, 2, 2, 3])
    weights = losses.LossWeights(alpha=0.1, beta=0.1, reconstruction=2.0,
                                 generator_adversarial=0.5)
    # aux: 4 ln3; adversarial: 0.5 * 2 * 4 ln4; L1: 2 * (0.25 + 0.5).
    value = losses.g_loss(uniform, uniform, aux_labels, images, images + 0.25, images,
                          images + 0.5, weights, "sum")
    expected = 4 * math.log(3) + 0.5 * 8 * math.log(4) + 2.0 * 0.75
    np.testing.assert_allclose(value, expected, rtol=1e-5)


def test_f_loss_weights_and_source_only():
    seg_logits = tf.zeros([1, 2, 2, 3])
    labels = tf.zeros([1, 2, 2], tf.int32)
    uniform = _d_outputs(0, 0)
    weights = losses.LossWeights(alpha=0.3, beta=0.2, reconstruction=1.0,
                                 generator_adversarial=0.1)
    value = losses.f_loss(seg_logits, labels, uniform, uniform, labels, weights, "mean")
    expected = math.log(3) + 0.2 * 2 * math.log(4) + 0.3 * math.log(3)
    np.testing.assert_allclose(value, expected, rtol=1e-5)
    source_only = losses.f_loss(seg_logits, labels, None, None, labels, weights, "mean")
    np.testing.assert_allclose(source_only, math.log(3), rtol=1e-5)


def test_f_loss_cross_domain_targets_are_swapped():
    d = discriminator_lib
    labels = tf.zeros([1, 2, 2], tf.int32)
    # F wants source fakes seen as target-real and target fakes as source-real.
    fooled = losses.f_loss(tf.zeros([1, 2, 2, 3]), labels,
                           _d_outputs(d.TARGET_REAL, 0, scale=100.0),
                           _d_outputs(d.SOURCE_REAL, 0, scale=100.0), labels)
    not_fooled = losses.f_loss(tf.zeros([1, 2, 2, 3]), labels,
                               _d_outputs(d.SOURCE_FAKE, 0, scale=100.0),
                               _d_outputs(d.TARGET_FAKE, 0, scale=100.0), labels)
    assert float(fooled) < float(not_fooled) - 10


def test_effective_weights_match_the_reference_at_640x320():
    weights = losses.effective_loss_weights((320, 640))
    # The reference sums CE over pixels: H*W for C's output, (H/8)(W/8) = 3200 for D's.
    assert weights["f"] == {"segmentation": 204800, "domain": pytest.approx(320.0),
                            "aux": pytest.approx(320.0)}
    assert weights["g"] == {"aux": 3200, "domain": pytest.approx(320.0), "l1": 1.0}
    assert weights["d"] == {"domain": 3200, "aux": 3200}
    mean = losses.effective_loss_weights((320, 640), reduction="mean")
    assert mean["f"] == {"segmentation": 1, "domain": pytest.approx(0.1),
                         "aux": pytest.approx(0.1)}


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
