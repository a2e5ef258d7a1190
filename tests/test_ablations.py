"""The Table 4 ablations and the target-only bound: who moves, and which loss terms exist."""

import os

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from gta_keras import configurables
from gta_keras import experiment
from gta_keras import losses
from gta_keras import predictors
from gta_keras.data import pipeline
from gta_keras.data import preprocessing
from gta_keras.models import adaptation_model
from gta_keras.models import discriminator as discriminator_lib
from gta_keras.models import factory
from gta_keras.models import feature_discriminator
from tests import tiny

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ABLATIONS = ("target_only", "feature_d", "global_d", "no_aux")
PLAYER_OPTIMIZERS = {"discriminator": ("d_optimizer",), "generator": ("g_optimizer",),
                     "segmenter": ("f_optimizer", "f_bias_optimizer")}
HEIGHT, WIDTH = tiny.IMAGE_SIZE
PATCH_LOCATIONS = (HEIGHT // 8) * (WIDTH // 8)


def _model(method, **kwargs):
    """A tiny model compiled with an optimizer for each player the method has.

    Seeded: at these widths (2 channels in F's first layers) an unlucky draw can leave a
    ReLU dead everywhere and a variable with an exactly zero gradient.
    """
    keras.utils.set_random_seed(0)
    built = factory.build_model(num_classes=tiny.NUM_CLASSES, method=method,
                                embedder=tiny.EMBEDDER, **kwargs)
    built.compile(configurables.adam(1e-3),
                  configurables.adam(1e-3) if "generator" in built.players else None,
                  configurables.adam(1e-3) if "discriminator" in built.players else None,
                  run_eagerly=True)
    return built


def _no_dropout(model):
    for player in (model.embedder, model.generator, model.discriminator):
        for layer in (player.layers if player is not None else []):
            if hasattr(layer, "rate"):
                layer.rate = 0.0


def _variables(model):
    players = {"segmenter": model.player_variables("segmenter")}
    if model.generator is not None:
        players["generator"] = model.generator.trainable_variables
    if model.discriminator is not None:
        players["discriminator"] = model.discriminator.trainable_variables
    return players


CASES = [(method, player) for method in ABLATIONS
         for player in adaptation_model.METHOD_PLAYERS[method]]


@pytest.mark.parametrize("method,player", CASES, ids=[f"{m}-{p}" for m, p in CASES])
def test_each_update_moves_only_its_own_player(method, player):
    model = _model(method)
    model.build_optimizers()
    variables = _variables(model)
    before = {name: tiny.snapshot(vs) for name, vs in variables.items()}
    # Segmentation alone: C's score layers start at zero, so F moves from step two.
    updates = 2 if model.players == ("segmenter",) else 1
    for seed in range(updates):
        model.update(player, *tiny.batch(seed=seed))
    for name, vs in variables.items():
        moved = tiny.changed(before[name], vs)
        if name == player:
            assert all(moved), f"{method}: {player} update left some of its variables"
        else:
            assert not any(moved), f"{method}: {player} update moved {name}"
    for name, optimizer_names in PLAYER_OPTIMIZERS.items():
        for optimizer_name in optimizer_names:
            optimizer = getattr(model, optimizer_name)
            if optimizer is None:
                assert name not in model.players
                continue
            assert optimizer.iterations.numpy() == (updates if name == player else 0)


@pytest.mark.parametrize("method", ABLATIONS)
def test_train_step_updates_the_methods_players_once(method):
    model = _model(method)
    logs = tiny.train_one_step(model, tiny.batch())
    assert model.f_optimizer.iterations.numpy() == 1
    for name in ("generator", "discriminator"):
        optimizer = getattr(model, PLAYER_OPTIMIZERS[name][0])
        if name in model.players:
            assert optimizer.iterations.numpy() == 1
        else:
            assert optimizer is None and getattr(model, name) is None
    expected = {"f_loss", "seg_loss"} | (
        {"d_loss"} if "discriminator" in model.players else set()) | (
        {"g_loss"} if "generator" in model.players else set())
    assert set(logs) == expected


def test_players_of_each_method():
    assert adaptation_model.METHOD_PLAYERS["feature_d"] == ("discriminator", "segmenter")
    assert adaptation_model.METHOD_PLAYERS["target_only"] == ("segmenter",)
    for method in ("lsd", "global_d", "no_aux"):
        assert adaptation_model.METHOD_PLAYERS[method] == adaptation_model.PLAYERS
    assert set(adaptation_model.METHOD_DESCRIPTIONS) == set(adaptation_model.METHODS)


def _forward(model, source, labels, target):
    """Every D output of the image-space methods, by hand, dropout off."""
    features_s = model.embedder(preprocessing.embedder_input(source), training=False)
    features_t = model.embedder(preprocessing.embedder_input(target), training=False)
    fake_s = model.generator(features_s, training=False)
    fake_t = model.generator(features_t, training=False)
    real_s, real_t = preprocessing.unit_range(source), preprocessing.unit_range(target)
    outs = [model.discriminator(x, training=False) for x in (real_s, fake_s, real_t, fake_t)]
    return outs, (real_s, fake_s, real_t, fake_t)


def test_no_aux_has_no_auxiliary_head_and_no_aux_term():
    model = _model("no_aux")
    assert set(model.discriminator.output) == {"domain"}
    assert not [layer for layer in model.discriminator.layers if "aux" in layer.name]
    source, labels, target = tiny.batch()
    computed = model.compute_losses(source, labels, target, training=False)
    (sr, sf, tr, tf_), (real_s, fake_s, real_t, fake_t) = _forward(model, source, labels,
                                                                   target)
    ce = lambda out, domain: losses.domain_cross_entropy(out["domain"], domain)
    d = discriminator_lib
    np.testing.assert_allclose(
        computed["d_loss"], ce(sr, d.SOURCE_REAL) + ce(sf, d.SOURCE_FAKE)
        + ce(tr, d.TARGET_REAL) + ce(tf_, d.TARGET_FAKE), rtol=1e-5)
    w = model.loss_weights
    l1 = (losses.l1_reconstruction(real_s, fake_s) + losses.l1_reconstruction(real_t, fake_t))
    np.testing.assert_allclose(
        computed["g_loss"], w.generator_adversarial * (ce(sf, d.SOURCE_REAL)
                                                       + ce(tf_, d.TARGET_REAL))
        + w.reconstruction * l1, rtol=1e-5)
    np.testing.assert_allclose(
        computed["f_loss"], computed["seg_loss"] + w.beta * (ce(sf, d.TARGET_REAL)
                                                             + ce(tf_, d.SOURCE_REAL)),
        rtol=1e-5)


@pytest.mark.parametrize("reduction,scale", [("sum", PATCH_LOCATIONS), ("mean", 1)])
def test_global_d_decides_per_image_and_keeps_the_patch_ds_weight(reduction, scale):
    model = _model("global_d", reduction=reduction)
    source, labels, target = tiny.batch()
    domain = model.discriminator(preprocessing.unit_range(source))["domain"]
    assert domain.shape == (2, 1, 1, discriminator_lib.NUM_DOMAIN_CLASSES)
    computed = model.compute_losses(source, labels, target, training=False)
    (sr, sf, tr, tf_), _ = _forward(model, source, labels, target)
    ce = lambda out, dom: scale * losses.domain_cross_entropy(out["domain"], dom, reduction)
    aux_labels = preprocessing.labels_at(labels, (HEIGHT // 8, WIDTH // 8))
    d = discriminator_lib
    aux = losses.pixel_cross_entropy(aux_labels, sr["aux"], reduction)
    np.testing.assert_allclose(
        computed["d_loss"], ce(sr, d.SOURCE_REAL) + ce(sf, d.SOURCE_FAKE) + aux
        + ce(tr, d.TARGET_REAL) + ce(tf_, d.TARGET_FAKE), rtol=1e-5)
    w = model.loss_weights
    f_aux = losses.pixel_cross_entropy(aux_labels, sf["aux"], reduction)
    np.testing.assert_allclose(
        computed["f_loss"], computed["seg_loss"]
        + w.beta * (ce(sf, d.TARGET_REAL) + ce(tf_, d.SOURCE_REAL)) + w.alpha * f_aux,
        rtol=1e-5)


def test_global_d_scale_gives_back_the_patch_ds_effective_weights():
    size = (320, 640)
    scale = losses.image_level_domain_scale((320 // 8) * (640 // 8), "sum")
    assert scale == 3200
    assert (losses.effective_loss_weights(size, patch=False, domain_scale=scale)
            == losses.effective_loss_weights(size, patch=True))
    # Unscaled, the image-level D's adversarial terms would weigh 3200 times less.
    assert losses.effective_loss_weights(size, patch=False)["f"]["domain"] == pytest.approx(
        losses.effective_loss_weights(size)["f"]["domain"] / 3200)
    assert losses.image_level_domain_scale(3200, "mean") is None


def test_feature_d_has_no_generator_and_its_d_sees_fc7():
    model = _model("feature_d")
    assert model.generator is None
    seen = []
    original_call = model.discriminator.call

    def spy(inputs, *args, **kwargs):
        seen.append(tuple(inputs.shape))
        return original_call(inputs, *args, **kwargs)

    model.discriminator.call = spy
    _no_dropout(model)
    source, labels, target = tiny.batch()
    computed = model.compute_losses(source, labels, target, training=False)
    fc7_shape = (2, HEIGHT // 32, WIDTH // 32, tiny.EMBEDDER.fc_width)
    assert seen == [fc7_shape, fc7_shape]
    model.discriminator.call = original_call
    fc7_s = model.embedder(preprocessing.embedder_input(source))["fc7"]
    fc7_t = model.embedder(preprocessing.embedder_input(target))["fc7"]
    ds, dt = model.discriminator(fc7_s), model.discriminator(fc7_t)
    assert ds["domain"].shape == fc7_shape[:3] + (2,)
    # 16 patch locations per fc7 location under "sum": the patch D's weight.
    scale = PATCH_LOCATIONS / ((HEIGHT // 32) * (WIDTH // 32))
    assert scale == 16
    ce = lambda out, dom: scale * losses.domain_cross_entropy(out["domain"], dom)
    f = feature_discriminator
    np.testing.assert_allclose(computed["d_loss"], ce(ds, f.SOURCE) + ce(dt, f.TARGET),
                               rtol=1e-5)
    np.testing.assert_allclose(
        computed["f_loss"], computed["seg_loss"]
        + model.loss_weights.beta * (ce(ds, f.TARGET) + ce(dt, f.SOURCE)), rtol=1e-5)


def _fake_loader():
    """Source scenes labelled 3, target scenes labelled 7 (both with labels on disk)."""

    def load(name, split, **unused):
        rng = np.random.default_rng(0 if name == "source" else 1)
        images = rng.integers(0, 256, (4, 32, 64, 3)).astype(np.uint8)
        labels = np.full((4, 32, 64, 1), 3 if name == "source" else 7, np.uint8)
        return tf.data.Dataset.from_tensor_slices((images, labels))

    return load


def test_target_only_batches_carry_target_labels_and_others_never_do():
    def first(**kwargs):
        dataset = pipeline.make_train_dataset(
            source="source", target="target", image_size=(32, 64), batch_size=2,
            load_fn=_fake_loader(), **kwargs)
        return next(iter(dataset))

    _, source_labels, _ = first()
    assert set(np.unique(source_labels.numpy())) == {3}
    _, target_labels, _ = first(labelled_domain="target")
    assert set(np.unique(target_labels.numpy())) == {7}
    with pytest.raises(ValueError, match="labelled_domain"):
        first(labelled_domain="both")


def test_target_only_trains_on_the_labelled_batch_as_source_only_does():
    model = _model("target_only")
    source, labels, target = tiny.batch()
    computed = model.compute_losses(source, labels, target, training=False)
    other = model.compute_losses(source, labels, tf.zeros_like(target), training=False)
    assert float(computed["f_loss"]) == float(other["f_loss"])  # x_t is not read
    assert set(computed) == {"f_loss", "seg_loss"}


@pytest.mark.parametrize("method,labelled,ok", [
    ("target_only", "target", True), ("target_only", None, False),
    ("source_only", "target", False), ("lsd", "target", False), ("lsd", None, True)])
def test_only_target_only_may_read_target_labels(method, labelled, ok):
    if labelled:
        gin.bind_parameter("make_train_dataset.labelled_domain", labelled)
    if ok:
        experiment._check_labelled_domain(method)  # pylint: disable=protected-access
    else:
        with pytest.raises(ValueError, match="target_only"):
            experiment._check_labelled_domain(method)  # pylint: disable=protected-access


def test_eval_json_says_whether_target_labels_were_read():
    assert predictors.from_model(_model("target_only"), 1).description[
        "reads_target_labels"] is True
    for method in ("source_only", "feature_d"):
        description = predictors.from_model(_model(method), 1).description
        assert description["reads_target_labels"] is False
        assert description["method"] == method


@pytest.mark.parametrize("method", adaptation_model.METHODS)
def test_each_method_has_a_gin_layer_that_selects_it(method):
    path = os.path.join(ROOT, "gin", "ablations", f"{method}.gin")
    configurables.parse_gin([os.path.join(ROOT, "gin", "smoke.gin"), path])
    assert gin.query_parameter("build_model.method") == method
    if method == "target_only":
        assert gin.query_parameter("make_train_dataset.labelled_domain") == "target"
    # Equal settings: the layer binds nothing but the method (and target_only's data).
    with open(path) as f:
        bindings = [line for line in f if line.strip() and not line.startswith("#")]
    assert len(bindings) == (2 if method == "target_only" else 1)


def test_unknown_method_is_rejected_with_the_choices():
    with pytest.raises(ValueError, match="feature_d"):
        factory.build_model(num_classes=3, method="pixel_da", embedder=tiny.EMBEDDER)
