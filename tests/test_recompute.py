"""Blocks recomputed in the backward pass (F, D, G) compute what the plain players compute."""

import numpy as np
import pytest
import tensorflow as tf

from gta_keras.data import preprocessing
from gta_keras.models import embedder as embedder_lib
from tests import tiny


def _outputs_and_gradients(call, loss, sources, watch=()):
    """`call()`'s outputs, and the gradients of `loss(outputs)` for `sources` (flat)."""
    with tf.GradientTape() as tape:
        tape.watch(watch)
        outputs = call()
        value = loss(outputs)
    return outputs, tf.nest.flatten(tape.gradient(value, sources))


def _sum_of_squares(outputs):
    return sum(tf.reduce_sum(tf.square(v)) for v in outputs.values())


def test_recomputed_embedder_has_the_same_outputs_and_gradients():
    model = tiny.model(method="source_only", seed=0)
    images = preprocessing.embedder_input(tiny.batch()[0])
    embedder = model.embedder
    variables = embedder.trainable_variables
    plain, plain_gradients = _outputs_and_gradients(
        lambda: embedder(images, training=False), _sum_of_squares, variables)
    recomputed, recomputed_gradients = _outputs_and_gradients(
        lambda: embedder_lib.call_recomputing_blocks(embedder, images), _sum_of_squares,
        variables)
    assert plain.keys() == recomputed.keys()
    for name in plain:
        np.testing.assert_allclose(recomputed[name], plain[name], rtol=1e-6, atol=1e-7)
    assert all(g is not None for g in recomputed_gradients)
    nonzero = 0
    for got, want in zip(recomputed_gradients, plain_gradients):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        nonzero += bool(np.any(want.numpy()))
    assert nonzero >= len(plain_gradients) // 2


@pytest.mark.parametrize("flag", ["recompute_embedder_blocks",
                                  "recompute_discriminator_blocks",
                                  "recompute_generator_blocks"])
def test_training_with_recomputed_blocks_equals_plain_training(flag):
    """The issue's equality test: same losses and updated weights, dropout on, two
    steps of lsd from the same seed on the same batches."""
    runs = []
    for recompute in (False, True):
        model = tiny.model(method="lsd", seed=0)
        setattr(model, flag, recompute)
        losses = tiny.step_losses(model, 2)
        runs.append((losses, [v.numpy() for v in model.trainable_variables]))
    (plain_losses, plain_weights), (losses, weights) = runs
    for got, want in zip(losses, plain_losses):
        assert got == pytest.approx(want, rel=1e-5)
    for got, want in zip(weights, plain_weights):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_gin_turns_recomputation_on():
    from gta_keras.models import factory  # pylint: disable=import-outside-toplevel
    config = factory.EmbedderConfig(width_multiplier=1 / 32, fc_width=8,
                                    recompute_blocks=True)
    model = factory.build_model(num_classes=3, method="source_only", embedder=config)
    assert model.recompute_embedder_blocks
    assert not factory.build_model(num_classes=3, method="source_only",
                                   embedder=tiny.EMBEDDER).recompute_embedder_blocks


@pytest.mark.parametrize("norm,patch,aux_head", [("instance", True, True),
                                                 ("layer", False, True),
                                                 ("none", True, False)])
def test_recomputed_discriminator_has_the_same_outputs_and_gradients(norm, patch,
                                                                     aux_head):
    from gta_keras.models import discriminator as discriminator_lib  # pylint: disable=import-outside-toplevel
    import keras  # pylint: disable=import-outside-toplevel
    keras.utils.set_random_seed(0)
    discriminator = discriminator_lib.build_discriminator(
        tiny.NUM_CLASSES, width_multiplier=1 / 16, blocks_per_stage=2, norm=norm,
        patch=patch, aux_head=aux_head)
    images = tf.random.stateless_uniform([2, 32, 64, 3], seed=[1, 2])
    sources = discriminator.trainable_variables + [images]
    plain, plain_gradients = _outputs_and_gradients(
        lambda: discriminator(images, training=False), _sum_of_squares, sources, images)
    recomputed, recomputed_gradients = _outputs_and_gradients(
        lambda: discriminator_lib.call_recomputing_blocks(discriminator, images),
        _sum_of_squares, sources, images)
    assert plain.keys() == recomputed.keys() == ({"domain", "aux"} if aux_head
                                                  else {"domain"})
    for name in plain:
        np.testing.assert_allclose(recomputed[name], plain[name], rtol=1e-5, atol=1e-6)
    for got, want in zip(recomputed_gradients, plain_gradients):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def test_feature_d_refuses_discriminator_recomputation():
    from gta_keras.models import factory  # pylint: disable=import-outside-toplevel
    config = factory.DiscriminatorConfig(recompute_blocks=True)
    with pytest.raises(ValueError, match="feature_d"):
        factory.build_model(num_classes=3, method="feature_d", embedder=tiny.EMBEDDER,
                            discriminator=config)
    model = factory.build_model(num_classes=3, method="lsd", embedder=tiny.EMBEDDER,
                                discriminator=config)
    assert model.recompute_discriminator_blocks


@pytest.mark.parametrize("norm,stage1_matmul", [("instance", False), ("none", True)])
def test_recomputed_generator_has_the_same_outputs_and_gradients(norm, stage1_matmul):
    from gta_keras.models import generator as generator_lib  # pylint: disable=import-outside-toplevel
    import keras  # pylint: disable=import-outside-toplevel
    keras.utils.set_random_seed(0)
    generator = generator_lib.build_generator(8, 16, 8, width_multiplier=1 / 16,
                                              blocks_per_stage=2, norm=norm,
                                              stage1_matmul=stage1_matmul)
    shapes = {"fc7": [2, 1, 2, 8], "pool4": [2, 2, 4, 16], "pool3": [2, 4, 8, 8]}
    features = {name: tf.random.stateless_normal(shape, seed=[index, 3])
                for index, (name, shape) in enumerate(shapes.items())}
    sources = [generator.trainable_variables, features]

    def loss(image):
        return tf.reduce_sum(tf.square(image - 0.5))

    plain, plain_gradients = _outputs_and_gradients(
        lambda: generator(features, training=False), loss, sources, features)
    recomputed, recomputed_gradients = _outputs_and_gradients(
        lambda: generator_lib.call_recomputing_blocks(generator, features), loss, sources,
        features)
    assert recomputed.shape == plain.shape == (2, 32, 64, 3)
    np.testing.assert_allclose(recomputed, plain, rtol=1e-5, atol=1e-6)
    assert len(recomputed_gradients) == len(plain_gradients)
    nonzero = 0
    for got, want in zip(recomputed_gradients, plain_gradients):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
        nonzero += bool(np.any(want.numpy()))
    assert nonzero >= len(plain_gradients) // 2


def test_gin_turns_generator_recomputation_on_and_training_takes_that_path(monkeypatch):
    from gta_keras.models import factory  # pylint: disable=import-outside-toplevel
    from gta_keras.models import generator as generator_lib  # pylint: disable=import-outside-toplevel
    model = tiny.model(generator=factory.GeneratorConfig(blocks_per_stage=1,
                                                         recompute_blocks=True))
    assert model.recompute_generator_blocks
    calls = []
    recomputing = generator_lib.call_recomputing_blocks
    monkeypatch.setattr(generator_lib, "call_recomputing_blocks",
                        lambda *args: calls.append(1) or recomputing(*args))
    tiny.step_losses(model, 1)
    assert len(calls) == 2  # Source and target (the tiny model runs eagerly).
    assert not tiny.model().recompute_generator_blocks
