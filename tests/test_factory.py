"""`build_model`'s settings, grouped by player and bound by name in gin."""

import glob
import os

import gin
import keras
import numpy as np
import pytest

from gta_keras import losses
from gta_keras.models import factory
from tests import tiny

TINY_BINDINGS = """
build_model.num_classes = 5
embedder.width_multiplier = 0.03125
embedder.fc_width = 8
"""


@pytest.fixture(autouse=True)
def clean_gin():
    gin.clear_config()
    yield
    gin.clear_config()


def test_players_are_configured_by_name_in_gin():
    gin.parse_config(TINY_BINDINGS + """
loss_weights.beta = 0.3
generator.blocks_per_stage = 1
discriminator.patch = False
segmenter.eval_size = (32, 64)
segmenter.upsampling = 'nearest_labels'
""")
    model = factory.build_model()
    assert model.loss_weights == losses.LossWeights(0.1, 0.3, 1.0, 0.1)
    assert model.embedder.get_layer("fc6").filters == 8
    assert not any(layer.name.startswith("stage1_res1") for layer in model.generator.layers)
    assert model.discriminator.get_layer("image_level_domain") is not None
    assert model.eval_size == (32, 64)
    assert model.upsampling == "nearest_labels"


@pytest.mark.parametrize("old, new", [
    ("width_multiplier = 0.5", "embedder.width_multiplier"),
    ("fc_width = 24", "embedder.fc_width"),
    ("eval_size = (32, 64)", "segmenter.eval_size"),
    ("discriminator_norm = 'layer'", "discriminator.norm"),
    ("discriminator_patch = False", "discriminator.patch"),
    ("generator_dropout_rate = 0.1", "generator.dropout_rate"),
])
def test_an_old_binding_fails_naming_its_new_name(old, new):
    gin.parse_config(TINY_BINDINGS + f"build_model.{old}")
    with pytest.raises(ValueError, match=f"build_model.{old.split()[0]} is now {new}"):
        factory.build_model()


def test_the_loss_weights_tuple_still_works_and_says_what_to_bind(caplog):
    gin.parse_config(TINY_BINDINGS + "build_model.loss_weights = (0.1, 0.3, 1.0, 0.1)")
    model = factory.build_model()
    assert model.loss_weights == losses.LossWeights(0.1, 0.3, 1.0, 0.1)
    assert "deprecated" in caplog.text
    assert "loss_weights.beta = 0.3" in caplog.text


def test_a_loss_weights_tuple_of_the_wrong_length_is_a_clear_error():
    with pytest.raises(ValueError, match="must have 4 values"):
        factory.build_model(num_classes=5, embedder=tiny.EMBEDDER, loss_weights=(0.1, 0.3))


def _layers_of(player, kind):
    return [layer for layer in player.layers if isinstance(layer, kind)]


def test_reference_options_change_the_players():
    reference = factory.build_model(
        num_classes=5,
        embedder=factory.EmbedderConfig(width_multiplier=1 / 32, fc_width=8,
                                        dropout="spatial"),
        generator=factory.GeneratorConfig(output_kernel_size=8, norm_affine=False,
                                          init="normal_0.02"),
        discriminator=factory.DiscriminatorConfig(norm_affine=False, init="normal_0.02"))
    assert {type(layer) for layer in reference.embedder.layers
            if "dropout" in layer.name} == {keras.layers.SpatialDropout2D}
    assert reference.generator.get_layer("to_rgb").kernel_size == (8, 8)
    for player in (reference.generator, reference.discriminator):
        norms = _layers_of(player, keras.layers.GroupNormalization)
        assert norms and all(not n.center and not n.scale for n in norms)
        assert all(not n.weights for n in norms)  # nothing learned
    # N(0, 0.02): the standard deviation of a large kernel is close to 0.02.
    kernel = reference.discriminator.get_layer("stage0_res0_conv").kernel.numpy()
    assert abs(kernel.std() - 0.02) < 0.004 and abs(kernel.mean()) < 0.004
    head_bias = reference.discriminator.get_layer("aux_head").bias.numpy()
    assert np.all(np.abs(head_bias) <= 0.01) and np.any(head_bias != 0)

    default = tiny.model()
    assert {type(layer) for layer in default.embedder.layers
            if "dropout" in layer.name} == {keras.layers.Dropout}
    assert default.generator.get_layer("to_rgb").kernel_size == (3, 3)
    norms = _layers_of(default.discriminator, keras.layers.GroupNormalization)
    assert all(n.center and n.scale for n in norms)
    assert not np.any(default.discriminator.get_layer("aux_head").bias.numpy())


def test_the_8x8_output_layer_keeps_the_input_size():
    model = factory.build_model(
        num_classes=5, embedder=tiny.EMBEDDER,
        generator=factory.GeneratorConfig(output_kernel_size=8))
    features = model.embedder(np.zeros((1, 32, 64, 3), np.float32))
    assert model.generator(features).shape == (1, 32, 64, 3)


@pytest.mark.parametrize("config, message", [
    (factory.EmbedderConfig(dropout="channel"), "Unknown embedder dropout"),
    (factory.GeneratorConfig(init="he"), "Unknown init 'he'"),
])
def test_unknown_choices_are_clear_errors(config, message):
    kwargs = ({"embedder": config} if isinstance(config, factory.EmbedderConfig)
              else {"embedder": tiny.EMBEDDER, "generator": config})
    with pytest.raises(ValueError, match=message):
        factory.build_model(num_classes=5, method="source_only", **kwargs)


def test_unknown_upsampling_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown segmenter.upsampling"):
        factory.SegmenterConfig(upsampling="bicubic")


def test_every_gin_file_binds_no_old_name():
    # The old names fail only when the model is built; parsing alone would not tell.
    for path in glob.glob(os.path.join(os.path.dirname(__file__), "..", "gin", "**",
                                       "*.gin"), recursive=True):
        with open(path) as f:
            text = f.read()
        for old in factory._MOVED:  # pylint: disable=protected-access
            assert f"build_model.{old} " not in text, (path, old)
        assert "build_model.loss_weights" not in text, path
