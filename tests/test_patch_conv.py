"""`embedder.fc_matmul` and `generator.stage1_matmul`: fc6 and fc7 as patches times the
kernel matrix, G's first transposed conv as one matrix product and a shifted sum of its
taps; the same functions as the convolutions, forward, backward and over training steps."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gta_keras import configurables
from gta_keras import profiling
from gta_keras.models import embedder as embedder_lib
from gta_keras.models import factory
from gta_keras.models import patch_conv
from tests import tiny


@pytest.mark.parametrize("kernel,padding,map_size", [
    (7, "same", (5, 10)),   # fc6 at 320x160
    (7, "same", (3, 2)),    # a map smaller than the kernel: mostly padding
    (3, "same", (4, 6)),
    (1, "valid", (5, 10)),  # fc7
])
def test_outputs_and_gradients_equal_the_convolution(kernel, padding, map_size):
    rng = np.random.default_rng(0)
    images = tf.constant(rng.normal(size=(2,) + map_size + (6,)))
    plain = keras.layers.Conv2D(5, kernel, padding=padding, activation="relu",
                                dtype="float64")
    matmul = patch_conv.PatchMatmulConv2D(5, kernel, padding=padding, activation="relu",
                                          dtype="float64")
    _assert_same_layer(plain, matmul, images, rng)
    assert matmul(images).shape == (2,) + map_size + (5,)


@pytest.mark.parametrize("kernel,map_size,use_bias", [
    (7, (5, 10), False),  # G's stage 1 at 320x160 (no bias before its norm)
    (7, (3, 2), True),
    (3, (4, 6), True),
])
def test_transposed_outputs_and_gradients_equal_the_transposed_convolution(
        kernel, map_size, use_bias):
    rng = np.random.default_rng(1)
    images = tf.constant(rng.normal(size=(2,) + map_size + (6,)))
    plain = keras.layers.Conv2DTranspose(5, kernel, padding="same", use_bias=use_bias,
                                         activation="relu", dtype="float64")
    matmul = patch_conv.MatmulConv2DTranspose(5, kernel, padding="same",
                                              use_bias=use_bias, activation="relu",
                                              dtype="float64")
    _assert_same_layer(plain, matmul, images, rng)


def _assert_same_layer(plain, matmul, images, rng):
    """Same weights in both layers: same outputs, and gradients of every input.

    In float64. The question is whether the two layers compute the same function; in
    float32 they also differ by the rounding of their different summation orders, whose
    size depends on the CPU's kernels: with outputs up to about 60 and gradients of
    `x cos x` up to a few hundred, up to 5e-4 on an AVX2-only AMD EPYC against under
    1e-4 on the AVX-512 hosts. In float64 it is at most about 1e-12, so a tolerance of
    1e-9 leaves room for nothing else: a tap, a channel or a flip out of place moves
    values by their own size. Float32 training through these layers is
    `test_training_steps_equal_the_convolution_steps`.
    """
    plain.build(images.shape)
    matmul.build(images.shape)
    assert len(plain.weights) == len(matmul.weights) > 0
    for target, source in zip(matmul.weights, plain.weights, strict=True):
        assert target.shape == source.shape
        target.assign(rng.normal(size=source.shape))
        source.assign(target)
    results = []
    for layer in (plain, matmul):
        with tf.GradientTape() as tape:
            tape.watch(images)
            outputs = layer(images)
            loss = tf.reduce_sum(outputs * tf.cos(outputs))  # not linear in the outputs
        results.append([outputs] + tape.gradient(loss, [images] + layer.weights))
    assert results[0][0].shape == results[1][0].shape
    assert np.count_nonzero(results[0][0]) > 0
    for want, got in zip(*results, strict=True):
        assert got.dtype == want.dtype == tf.float64
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("layer_class,plain_class", [
    (patch_conv.PatchMatmulConv2D, keras.layers.Conv2D),
    (patch_conv.MatmulConv2DTranspose, keras.layers.Conv2DTranspose),
])
def test_under_mixed_bfloat16_they_compute_in_bfloat16_and_track_float32(layer_class,
                                                                        plain_class):
    rng = np.random.default_rng(2)
    images = tf.constant(rng.normal(size=(1, 5, 10, 8)).astype("float32"))
    plain = plain_class(6, 7, padding="same")
    plain.build(images.shape)
    for variable in plain.weights:
        variable.assign(rng.normal(size=variable.shape).astype("float32"))
    matmul = layer_class(6, 7, padding="same", dtype="mixed_bfloat16")
    matmul.build(images.shape)
    for target, source in zip(matmul.weights, plain.weights, strict=True):
        target.assign(source)
    assert matmul.kernel.dtype == "float32"  # Kept in float32, computed in bfloat16.
    outputs = matmul(images)
    assert outputs.dtype == tf.bfloat16
    want = plain(images).numpy()
    # bfloat16 keeps 8 bits of mantissa: a relative error of 2^-8 per product and sum.
    scale = np.abs(want).max()
    np.testing.assert_allclose(tf.cast(outputs, tf.float32), want, atol=0.02 * scale)


@pytest.mark.parametrize("product,matrix_shape", [
    (patch_conv.rows_times_matrix, (7, 9)),
    (patch_conv.rows_times_matrix_transposed, (9, 7)),
])
def test_the_products_and_their_gradients_equal_plain_matmuls(product, matrix_shape):
    """The two products compute their gradients in another arrangement than
    `tf.linalg.matmul`'s own (for speed); in float64 they must be the same numbers."""
    rng = np.random.default_rng(4)
    rows = tf.constant(rng.normal(size=(3, 7)))
    matrix = tf.constant(rng.normal(size=matrix_shape))
    transposed = product is patch_conv.rows_times_matrix_transposed
    upstream = tf.constant(rng.normal(size=(3, 9)))
    results = []
    for function in (product, lambda a, b: tf.linalg.matmul(a, b, transpose_b=transposed)):
        with tf.GradientTape() as tape:
            tape.watch([rows, matrix])
            outputs = function(rows, matrix)
            loss = tf.reduce_sum(outputs * upstream)
        results.append([outputs] + tape.gradient(loss, [rows, matrix]))
    for got, want in zip(*results, strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_the_products_gradient_ops_are_named_as_their_layers_backward_pass():
    """Profiles sum op time by part from op names (`profiling.part_of`); the custom
    gradients' ops would otherwise sit at the graph's top level, counted as "other"."""
    kernel = tf.Variable(tf.ones((3, 3, 4, 5)))

    @tf.function
    def gradients(images):
        with tf.GradientTape() as tape:
            with tf.name_scope("embedder_1"), tf.name_scope("fc6_1"):
                features = patch_conv.patch_matmul(images, kernel)
            with tf.name_scope("generator_1"), tf.name_scope("stage1_deconv_1"):
                rendered = patch_conv.tap_matmul_transpose(features, kernel)
            loss = tf.reduce_sum(rendered)
        return tape.gradient(loss, [images, kernel])

    graph = gradients.get_concrete_function(tf.TensorSpec((1, 5, 6, 4))).graph
    parts = sorted(profiling.part_of(op.name) for op in graph.get_operations()
                   if op.type == "MatMul")
    assert parts == ["backward/embedder"] * 2 + ["backward/generator"] * 2 + [
        "forward/embedder", "forward/generator"]


def test_other_convolutions_are_refused_naming_the_layer_to_use():
    for kwargs in ({"strides": 2, "padding": "same"}, {"dilation_rate": 2, "padding": "same"},
                   {"padding": "valid"}):
        with pytest.raises(ValueError, match="use keras.layers.Conv2D"):
            patch_conv.PatchMatmulConv2D(4, 3, **kwargs)
    for kernel, kwargs in ((7, {"strides": 2, "padding": "same"}), (7, {"padding": "valid"}),
                           (4, {"padding": "same"})):
        with pytest.raises(ValueError, match="use keras.layers.Conv2DTranspose"):
            patch_conv.MatmulConv2DTranspose(4, kernel, **kwargs)


def test_the_embedder_keeps_its_layers_and_variables():
    """Same names and shapes: checkpoints and ImageNet weights load either way."""
    plain = embedder_lib.build_embedder(1 / 32, 8)
    matmul = embedder_lib.build_embedder(1 / 32, 8, fc_matmul=True)
    assert [(w.path, w.shape) for w in plain.weights] == [
        (w.path, w.shape) for w in matmul.weights]
    assert isinstance(matmul.get_layer("fc6"), patch_conv.PatchMatmulConv2D)
    assert isinstance(matmul.get_layer("fc7"), patch_conv.PatchMatmulConv2D)
    assert type(plain.get_layer("fc6")) is keras.layers.Conv2D


def _trained(matmul, seed=0, learning_rate=1e-3, steps=3):
    """(losses, trainable weights after, before) of `steps` lsd steps."""
    keras.utils.set_random_seed(seed)
    model = factory.build_model(
        num_classes=tiny.NUM_CLASSES, method="lsd",
        embedder=factory.EmbedderConfig(width_multiplier=1 / 32, fc_width=8,
                                        fc_matmul=matmul),
        generator=factory.GeneratorConfig(blocks_per_stage=1, stage1_matmul=matmul),
        discriminator=tiny.PLAYERS["discriminator"])
    model.compile(*(configurables.adam(learning_rate) for _ in range(3)), run_eagerly=True)
    model.build_optimizers()
    layers = (model.embedder.get_layer("fc6"), model.embedder.get_layer("fc7"),
              model.generator.get_layer("stage1_deconv"))
    assert [type(layer).__module__ == patch_conv.__name__ for layer in layers] == [matmul] * 3
    initial = tiny.snapshot(model.trainable_variables)
    losses = tiny.step_losses(model, steps, image_size=tiny.COMPARISON_SIZE)
    return losses, tiny.snapshot(model.trainable_variables), initial


def test_training_steps_equal_the_convolution_steps():
    """The issue's equality test: three lsd steps at `tiny.COMPARISON_SIZE` (dropout on,
    same seed) take the same losses and updates; each variable's whole update within 0.1%
    (see `tiny.assert_same_training` for why not bit for bit), at a seed where the
    training is continuous enough to tell (`tiny.comparable_seed`)."""
    seed, (plain_losses, plain_weights, initial) = tiny.comparable_seed(
        lambda seed, rate: _trained(matmul=False, seed=seed, learning_rate=rate),
        update_tolerance=1e-3)
    matmul_losses, matmul_weights, matmul_initial = _trained(matmul=True, seed=seed)
    for a, b in zip(initial, matmul_initial, strict=True):
        np.testing.assert_array_equal(a, b)  # The same start: only the computation differs.
    tiny.assert_same_training(matmul_losses, matmul_weights, plain_losses, plain_weights,
                              initial, update_tolerance=1e-3)
