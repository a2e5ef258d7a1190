"""The four players: shapes, initialisation, width multiplier, config round trips."""

import copy
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from gta_keras.models import blocks
from gta_keras.models import classifier as classifier_lib
from gta_keras.models import discriminator as discriminator_lib
from gta_keras.models import embedder as embedder_lib
from gta_keras.models import factory
from gta_keras.models import generator as generator_lib
from gta_keras.models import vgg_init
from tests import tiny


def _tiny_players(num_classes=3, width=1 / 32, fc_width=8, matmul=False):
    embedder = embedder_lib.build_embedder(width, fc_width, fc_matmul=matmul)
    pool4, pool3 = blocks.scaled_width(512, width), blocks.scaled_width(256, width)
    classifier = classifier_lib.build_classifier(num_classes, fc_width, pool4, pool3)
    generator = generator_lib.build_generator(fc_width, pool4, pool3, width,
                                              stage1_matmul=matmul)
    discriminator = discriminator_lib.build_discriminator(num_classes, width)
    return embedder, classifier, generator, discriminator


@pytest.mark.parametrize("size", [(32, 64), (64, 96)])
def test_output_shapes_at_any_size_divisible_by_32(size):
    embedder, classifier, generator, discriminator = _tiny_players()
    images = tf.zeros((2,) + size + (3,))
    features = embedder(images)
    assert features["fc7"].shape == (2, size[0] // 32, size[1] // 32, 8)
    assert features["pool4"].shape[1:3] == (size[0] // 16, size[1] // 16)
    assert features["pool3"].shape[1:3] == (size[0] // 8, size[1] // 8)
    assert classifier(features).shape == (2,) + size + (3,)
    reconstruction = generator(features)
    assert reconstruction.shape == (2,) + size + (3,)
    assert float(tf.reduce_min(reconstruction)) >= 0.0
    assert float(tf.reduce_max(reconstruction)) <= 1.0
    outputs = discriminator(reconstruction)
    assert outputs["domain"].shape == (2, size[0] // 8, size[1] // 8, 4)
    assert outputs["aux"].shape == (2, size[0] // 8, size[1] // 8, 3)


def test_paper_widths():
    embedder = embedder_lib.build_embedder()
    assert embedder.get_layer("block5_conv3").filters == 512
    assert embedder.get_layer("fc6").kernel.shape == (7, 7, 512, 4096)
    assert embedder.get_layer("fc7").kernel.shape == (1, 1, 4096, 4096)
    discriminator = discriminator_lib.build_discriminator(19)
    assert discriminator.get_layer("stem_conv").filters == 128
    assert len([l for l in discriminator.layers if l.name.endswith("_add")]) == 9


def test_width_multiplier_scales_every_player():
    embedder, _, generator, discriminator = _tiny_players(width=1 / 16, fc_width=32)
    assert embedder.get_layer("block1_conv1").filters == 4
    assert embedder.get_layer("block5_conv1").filters == 32
    assert embedder.get_layer("fc6").filters == 32
    assert generator.get_layer("stage2_deconv").filters == 32
    assert discriminator.get_layer("stem_conv").filters == 8


def test_dropout_rates_of_g_and_d_are_set_apart():
    model = factory.build_model(num_classes=3, embedder=tiny.EMBEDDER,
                                generator=factory.GeneratorConfig(dropout_rate=0.1))

    def rates(player):
        return {layer.rate for layer in player.layers
                if isinstance(layer, keras.layers.Dropout)}

    assert rates(model.generator) == {0.1}
    assert rates(model.discriminator) == {0.5}  # the paper's, unless set too
    assert rates(model.embedder) == {0.5}


def test_instance_norm_normalises_each_channel_of_each_image():
    layer = blocks.instance_norm("norm")
    x = tf.random.normal((2, 4, 4, 3)) * 5 + 3
    y = layer(x).numpy()
    np.testing.assert_allclose(y.mean(axis=(1, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(y.std(axis=(1, 2)), 1, atol=1e-2)


def test_only_instance_norm_erases_a_global_colour_cast():
    # A cast shared by every pixel of an image (a domain's palette or lighting) is a
    # per-channel constant: instance norm removes it, layer norm and no norm keep it.
    x = tf.random.normal((1, 4, 4, 3))
    cast = tf.constant([2.0, -1.0, 0.5])
    changes = {}
    for norm in blocks.NORMS:
        def normalized(images):
            return blocks.normalize(images, norm, f"{norm}_norm").numpy()
        changes[norm] = np.abs(normalized(x + cast) - normalized(x)).max()
    assert changes["instance"] < 1e-4
    assert changes["layer"] > 0.1
    assert changes["none"] > 0.1


@pytest.mark.parametrize("norm", ["layer", "none"])
def test_g_and_d_norm_options(norm):
    model = factory.build_model(num_classes=3, embedder=tiny.EMBEDDER,
                                generator=factory.GeneratorConfig(norm=norm),
                                discriminator=factory.DiscriminatorConfig(norm=norm))

    def norm_layers(player):
        return {type(layer).__name__ for layer in player.layers
                if layer.name.endswith("_norm")}

    expected = {"layer": {"LayerNormalization"}, "none": set()}[norm]
    assert norm_layers(model.generator) == expected
    assert norm_layers(model.discriminator) == expected
    # Without a norm's own shift the convolutions carry a bias.
    assert model.generator.get_layer("stage1_deconv").use_bias == (norm == "none")
    assert model.discriminator.get_layer("stem_conv").use_bias == (norm == "none")
    images = tf.random.uniform((2, 32, 64, 3), maxval=255.0)
    assert model.generator(model.embedder(images)).shape == (2, 32, 64, 3)
    assert model.discriminator(images / 255.0)["domain"].shape == (2, 4, 8, 4)
    paper = factory.build_model(num_classes=3, embedder=tiny.EMBEDDER)
    assert norm_layers(paper.generator) == {"GroupNormalization"}


@pytest.mark.parametrize("method", ["lsd", "source_only"])
def test_unknown_norm_is_a_clear_error(method):
    with pytest.raises(ValueError, match="Unknown norm 'batch'.*instance"):
        factory.build_model(num_classes=3, embedder=tiny.EMBEDDER, method=method,
                            discriminator=factory.DiscriminatorConfig(norm="batch"))


def test_classifier_upsampling_starts_bilinear_and_frozen():
    classifier = classifier_lib.build_classifier(2, 8, 4, 4)
    layer = classifier.get_layer("upscore8")
    assert not layer.trainable
    kernel = layer.kernel.numpy()
    assert kernel.shape == (16, 16, 2, 2)
    assert np.all(kernel[:, :, 0, 1] == 0)
    profile = kernel[:, 7, 0, 0]
    assert profile.max() == pytest.approx(kernel[7, 7, 0, 0])
    # A constant map stays constant away from the borders under bilinear upsampling.
    up = layer(tf.ones((1, 4, 4, 2))).numpy()
    np.testing.assert_allclose(up[0, 8:24, 8:24], 1.0, atol=1e-6)


def test_bilinear_initializer_round_trip():
    init = classifier_lib.BilinearUpsampling()
    restored = keras.initializers.deserialize(keras.initializers.serialize(init))
    assert isinstance(restored, classifier_lib.BilinearUpsampling)
    np.testing.assert_array_equal(restored((4, 4, 2, 2)), init((4, 4, 2, 2)))
    with pytest.raises(ValueError, match="as many output as input"):
        init((4, 4, 2, 3))


@pytest.mark.parametrize("index,matmul", [(i, False) for i in range(4)]
                         + [(0, True), (2, True)])  # F and G with their matrix-product layers
def test_every_player_config_round_trips(index, matmul):
    player = _tiny_players(matmul=matmul)[index]
    config = player.get_config()
    # from_config consumes the dict it is given.
    rebuilt = keras.Model.from_config(copy.deepcopy(config))
    assert json.dumps(rebuilt.get_config(), sort_keys=True, default=str) == json.dumps(
        config, sort_keys=True, default=str)
    assert [w.shape for w in rebuilt.weights] == [w.shape for w in player.weights]


def test_non_patch_discriminator_gives_one_decision_per_image():
    discriminator = discriminator_lib.build_discriminator(3, 1 / 32, patch=False)
    outputs = discriminator(tf.zeros((2, 32, 64, 3)))
    assert outputs["domain"].shape == (2, 1, 1, 4)
    assert outputs["aux"].shape == (2, 4, 8, 3)


def test_imagenet_init_from_a_keras_vgg16_file(tmp_path):
    keras.utils.set_random_seed(1)
    vgg = keras.applications.VGG16(weights=None, include_top=True)
    path = str(tmp_path / "vgg16.weights.h5")
    vgg.save_weights(path)
    embedder = embedder_lib.build_embedder()
    vgg_init.initialize_embedder_from_vgg16(embedder, path)
    for block, num_convs, _ in embedder_lib.VGG16_BLOCKS:
        for i in range(1, num_convs + 1):
            name = f"block{block}_conv{i}"
            for mine, theirs in zip(embedder.get_layer(name).get_weights(),
                                    vgg.get_layer(name).get_weights()):
                np.testing.assert_array_equal(mine, theirs)
    fc1_kernel, fc1_bias = vgg.get_layer("fc1").get_weights()
    fc6_kernel, fc6_bias = embedder.get_layer("fc6").get_weights()
    np.testing.assert_array_equal(fc6_bias, fc1_bias)
    # fc1 reads pool5 flattened in (row, column, channel) order.
    for row, col, channel in ((0, 0, 0), (3, 5, 100), (6, 6, 511)):
        np.testing.assert_array_equal(fc6_kernel[row, col, channel],
                                      fc1_kernel[(row * 7 + col) * 512 + channel])
    fc2_kernel, fc2_bias = vgg.get_layer("fc2").get_weights()
    fc7_kernel, fc7_bias = embedder.get_layer("fc7").get_weights()
    np.testing.assert_array_equal(fc7_kernel[0, 0], fc2_kernel)
    np.testing.assert_array_equal(fc7_bias, fc2_bias)
    # The converted fc6 computes what fc1 computes on a 7x7 pool5.
    pool5 = tf.random.normal((1, 7, 7, 512))
    dense = tf.matmul(tf.reshape(pool5, (1, -1)), fc1_kernel) + fc1_bias
    conv = tf.nn.conv2d(pool5, fc6_kernel, 1, "VALID")[:, 0, 0] + fc6_bias
    np.testing.assert_allclose(conv, dense, rtol=1e-4, atol=1e-3)
    # fc6 and fc7 as matrix products (embedder.fc_matmul) take the same weights, and fc6's
    # centre position on a 7x7 pool5, which sees the whole window, computes fc1.
    matmul = embedder_lib.build_embedder(fc_matmul=True)
    vgg_init.initialize_embedder_from_vgg16(matmul, path)
    for mine, theirs in zip(matmul.weights, embedder.weights, strict=True):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    centre = matmul.get_layer("fc6").convolution_op(pool5, fc6_kernel)[:, 3, 3] + fc6_bias
    np.testing.assert_allclose(centre, dense, rtol=1e-4, atol=1e-3)
    small = embedder_lib.build_embedder(1 / 32, 8)
    with pytest.raises(ValueError, match="embedder.width_multiplier = 1.0"):
        vgg_init.initialize_embedder_from_vgg16(small, path)


def test_imagenet_init_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="VGG16 weights"):
        vgg_init.load_vgg16(str(tmp_path / "missing.h5"))
