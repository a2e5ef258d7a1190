"""The R1 gradient penalty on D's real images (`build_model.d_r1_weight`): its formula,
what it is the gradient of, that it moves D's update alone, and its errors."""

import numpy as np
import pytest
import tensorflow as tf

from gta_keras import errors
from gta_keras import losses
from gta_keras.data import preprocessing
from gta_keras.models import discriminator as discriminator_lib
from gta_keras.models import factory
from tests import tiny

# D without dropout, so that D's judgement can be computed again outside the model.
STILL_D = factory.DiscriminatorConfig(blocks_per_stage=1, dropout_rate=0.0)


def test_penalty_is_the_batch_mean_of_squared_gradient_norms():
    per_image = np.array([1.0, 2.0], np.float32).reshape(2, 1, 1, 1)
    source = np.ones((2, 4, 4, 3), np.float32) * per_image  # squared norms 48 and 192
    target = np.full((2, 4, 4, 3), 0.5, np.float32)  # 12 each
    assert float(losses.r1_penalty([source, target])) == pytest.approx(120.0 + 12.0)


def test_penalty_is_each_real_image_s_own_gradient_of_d_s_real_judgement():
    """The term the model logs equals the squared input gradient of D's real-domain
    cross-entropy, image by image (each judged alone: D's norms are per image), summed
    over both domains and averaged over the batch."""
    model = tiny.model(d_r1_weight=1.0, discriminator=STILL_D)
    source_images, source_labels, target_images = tiny.batch()
    terms = model.compute_losses(source_images, source_labels, target_images).terms

    expected = 0.0
    for images, domain in ((source_images, discriminator_lib.SOURCE_REAL),
                           (target_images, discriminator_lib.TARGET_REAL)):
        for image in tf.unstack(preprocessing.unit_range(images)):
            image = image[tf.newaxis]
            with tf.GradientTape() as tape:
                tape.watch(image)
                judged = model.discriminator(image, training=True)
                loss = losses.domain_cross_entropy(judged["domain"], domain, "sum")
            expected += float(tf.reduce_sum(tape.gradient(loss, image) ** 2)) / 2
    assert float(terms["d/r1"]) == pytest.approx(expected, rel=1e-4)
    assert expected > 0.0


def test_moves_d_s_loss_and_gradients_alone():
    """Same weights, dropout streams and batch with and without the penalty: in training
    D's loss grows by gamma / 2 * R1 and D's gradients change, every other loss, term and
    gradient is the plain one to the bit; evaluation never computes it."""
    batch = tiny.batch()
    plain, penalised = tiny.model(), tiny.model(d_r1_weight=4.0)

    evaluated = [m.compute_losses(*batch, training=False) for m in (plain, penalised)]
    assert "d/r1" not in evaluated[1].terms
    for name in evaluated[0]:
        np.testing.assert_array_equal(evaluated[1][name], evaluated[0][name], name)

    gradients, step_losses = [], []
    for model in (plain, penalised):
        with tf.GradientTape(persistent=True) as tape:
            step_losses.append(model.compute_losses(*batch))
        gradients.append({player: model._gradients(player, tape, step_losses[-1])
                          for player in model.players})
    r1 = float(step_losses[1].terms["d/r1"])
    assert r1 > 0.0
    assert float(step_losses[1]["d_loss"]) == pytest.approx(
        float(step_losses[0]["d_loss"]) + 2.0 * r1, rel=1e-6)
    for name in ("g_loss", "f_loss", "seg_loss"):
        np.testing.assert_array_equal(step_losses[1][name], step_losses[0][name], name)
    for name, value in step_losses[0].terms.items():
        np.testing.assert_array_equal(step_losses[1].terms[name], value, name)
    for player in ("generator", "segmenter"):
        for mine, theirs in zip(gradients[1][player], gradients[0][player]):
            np.testing.assert_array_equal(mine, theirs, player)
    moved = [not np.allclose(mine, theirs) for mine, theirs
             in zip(gradients[1]["discriminator"], gradients[0]["discriminator"])]
    assert sum(moved) > len(moved) // 2


def test_traced_training_step_runs_and_logs_the_term():
    """`fit`'s path: the step traced into a graph (the second derivative of D's norms,
    pooling and activations) applies finite updates and tracks "d/r1"."""
    model = tiny.model(d_r1_weight=1.0)
    model.build_optimizers()
    before = tiny.snapshot(model.discriminator.trainable_variables)
    logs = tf.function(model.train_step)(tiny.batch())
    assert all(np.isfinite(float(value)) for value in logs.values())
    assert float(model.term_trackers["d/r1"].result()) > 0.0
    after = tiny.snapshot(model.discriminator.trainable_variables)
    assert any(not np.array_equal(a, b) for a, b in zip(after, before))


@pytest.mark.parametrize("weight, match", [
    (-1.0, r"build_model.d_r1_weight = -1.0: must be >= 0"),
    (float("nan"), r"build_model.d_r1_weight = nan: must be >= 0"),
])
def test_bad_weights_name_their_binding(weight, match):
    with pytest.raises(errors.ConfigurationError, match=match):
        tiny.model(d_r1_weight=weight)


def test_feature_d_and_recomputed_d_refuse_it():
    with pytest.raises(errors.ConfigurationError, match="Leave it 0 for 'feature_d'"):
        tiny.model(method="feature_d", d_r1_weight=1.0)
    recomputed = factory.DiscriminatorConfig(blocks_per_stage=1, recompute_blocks=True)
    with pytest.raises(errors.ConfigurationError, match="set one of them off"):
        tiny.model(d_r1_weight=1.0, discriminator=recomputed)


def test_methods_without_d_ignore_it():
    model = tiny.model(method="source_only", d_r1_weight=1.0)
    step_losses = model.compute_losses(*tiny.batch())
    assert tuple(step_losses.terms) == ("f/segmentation",)
