"""The alternating updates: who moves in each, in what order, with which loss."""

import numpy as np
import pytest
import tensorflow as tf

from gta_keras import losses
from tests import tiny

PLAYER_OPTIMIZERS = {"discriminator": ("d_optimizer",), "generator": ("g_optimizer",),
                     "segmenter": ("f_optimizer", "f_bias_optimizer")}


def _all_variables(model):
    return {player: model.player_variables(player)
            for player in ("discriminator", "generator", "segmenter")}


@pytest.mark.parametrize("player", ["discriminator", "generator", "segmenter"])
def test_each_update_moves_only_its_own_player(player):
    model = tiny.model()
    model.build_optimizers()
    variables = _all_variables(model)
    before = {name: tiny.snapshot(vs) for name, vs in variables.items()}
    model.update(player, *tiny.batch())
    for name, vs in variables.items():
        moved = tiny.changed(before[name], vs)
        if name == player:
            assert all(moved), f"{player} update left some of its variables unchanged"
        else:
            assert not any(moved), f"{player} update moved {name}"
    for name, optimizer_names in PLAYER_OPTIMIZERS.items():
        for optimizer_name in optimizer_names:
            expected = 1 if name == player else 0
            assert getattr(model, optimizer_name).iterations.numpy() == expected


def test_segmenter_biases_learn_twice_as_fast():
    model = tiny.model()
    assert float(model.f_bias_optimizer.learning_rate) == pytest.approx(
        2 * float(model.f_optimizer.learning_rate))


@pytest.mark.parametrize("update_reading", ["single_pass", "sequential"])
def test_train_step_updates_every_player_once(update_reading):
    model = tiny.model(update_reading=update_reading)
    model.build_optimizers()
    variables = _all_variables(model)
    before = {name: tiny.snapshot(vs) for name, vs in variables.items()}
    logs = tiny.train_one_step(model, tiny.batch())
    for name, vs in variables.items():
        assert all(tiny.changed(before[name], vs)), name
    for optimizer_names in PLAYER_OPTIMIZERS.values():
        for optimizer_name in optimizer_names:
            assert getattr(model, optimizer_name).iterations.numpy() == 1
    assert set(logs) >= {"d_loss", "g_loss", "f_loss", "seg_loss"}


def _gradients(model, player, batch):
    with tf.GradientTape() as tape:
        step_losses = model.compute_losses(*batch, training=False)
    loss = {"discriminator": "d_loss", "generator": "g_loss",
            "segmenter": "f_loss"}[player]
    return tape.gradient(step_losses[loss], model.player_variables(player))


def test_single_pass_takes_every_gradient_before_any_player_moves():
    """Single pass: G's step equals the step from G's gradient at the old parameters."""
    model = tiny.model()
    model.build_optimizers()
    # No dropout noise, so two forward passes agree.
    for player in (model.embedder, model.generator, model.discriminator):
        for layer in player.layers:
            if hasattr(layer, "rate"):
                layer.rate = 0.0
    batch = tiny.batch()
    expected = _gradients(model, "generator", batch)
    variables = model.player_variables("generator")
    before = tiny.snapshot(variables)
    tiny.train_one_step(model, batch)
    # Adam's first step moves each weight by -lr * sign(gradient) (up to epsilon).
    for old, new, grad in zip(before, variables, expected):
        step = new.numpy() - old
        significant = np.abs(grad.numpy()) > 1e-3 * np.abs(grad.numpy()).max()
        np.testing.assert_array_equal(np.sign(step[significant]),
                                      -np.sign(grad.numpy()[significant]))


def test_single_pass_takes_the_players_gradients_in_turn(monkeypatch):
    """D's backward pass, then G's, then F's: in the traced step every op of a player's
    backward pass waits for the previous player's gradients, directly or through an
    earlier op of its own pass, so that two passes never hold their tensors at once."""
    model = tiny.model()
    model.build_optimizers()
    passes = []
    take_gradients = model._gradients

    def recording(player, tape, step_losses):
        graph = tf.compat.v1.get_default_graph()
        first = len(graph.get_operations())
        gradients = take_gradients(player, tape, step_losses)
        passes.append((player, graph.get_operations()[first:], gradients))
        return gradients

    monkeypatch.setattr(model, "_gradients", recording)
    tf.function(model.train_step).get_concrete_function(tiny.batch())
    assert [player for player, _, _ in passes] == ["discriminator", "generator", "segmenter"]
    for (_, _, previous_gradients), (player, ops, _) in zip(passes, passes[1:]):
        previous = {g.op.name for g in previous_gradients if g is not None}
        assert ops and previous
        ordered = set()
        for op in ops:  # In creation order: an op's inputs come before it.
            inputs = {t.op.name for t in op.inputs} | {c.name for c in op.control_inputs}
            if previous <= inputs or inputs & ordered:
                ordered.add(op.name)
        assert ordered == {op.name for op in ops}, player


def test_source_only_neither_runs_nor_moves_g_and_d():
    model = tiny.model(method="lsd")
    model.method = "source_only"
    model.build_optimizers()
    generator_before = tiny.snapshot(model.generator.weights)
    discriminator_before = tiny.snapshot(model.discriminator.weights)
    segmenter_before = tiny.snapshot(model.player_variables("segmenter"))
    # Two steps: C's score layers start at zero, so F's gradient is zero at step one.
    tiny.train_one_step(model, tiny.batch())
    logs = tiny.train_one_step(model, tiny.batch(seed=1))
    assert not any(tiny.changed(generator_before, model.generator.weights))
    assert not any(tiny.changed(discriminator_before, model.discriminator.weights))
    assert all(tiny.changed(segmenter_before, model.player_variables("segmenter")))
    assert model.g_optimizer.iterations.numpy() == 0
    assert model.d_optimizer.iterations.numpy() == 0
    assert model.f_optimizer.iterations.numpy() == 2
    assert logs["f_loss"] == pytest.approx(logs["seg_loss"])


def test_source_only_model_has_no_generator_or_discriminator():
    model = tiny.model(method="source_only")
    assert model.generator is None and model.discriminator is None
    assert model.players == ("segmenter",)
    tiny.train_one_step(model, tiny.batch())
    assert model.f_optimizer.iterations.numpy() == 1


def test_losses_use_the_reference_effective_weights():
    """With "sum", each term is its per-pixel mean times the pixels it sums over."""
    model = tiny.model()
    source, labels, target = tiny.batch()
    labels = tf.zeros_like(labels)  # no void, so sums are means times pixel counts
    summed = model.compute_losses(source, labels, target, training=False)
    model.reduction = "mean"
    averaged = model.compute_losses(source, labels, target, training=False)
    height, width = tiny.IMAGE_SIZE
    weights = losses.effective_loss_weights(tiny.IMAGE_SIZE)
    assert weights["f"]["segmentation"] == height * width
    np.testing.assert_allclose(summed["seg_loss"],
                               height * width * averaged["seg_loss"], rtol=1e-4)
    # D's loss: five cross-entropies at 1/8 resolution, each summed over its locations.
    np.testing.assert_allclose(summed["d_loss"],
                               weights["d"]["domain"] * averaged["d_loss"], rtol=1e-4)


def test_call_is_the_segmenter():
    model = tiny.model()
    source, _, _ = tiny.batch()
    logits = model(source)
    assert logits.shape == (2,) + tiny.IMAGE_SIZE + (tiny.NUM_CLASSES,)


def test_bad_method_and_reading_are_rejected():
    with pytest.raises(ValueError, match="method"):
        tiny.model(method="cyclegan")
    with pytest.raises(ValueError, match="update_reading"):
        tiny.model(update_reading="twice")


def test_adversarial_warmup_turns_off_alpha_and_beta_for_the_first_steps():
    model = tiny.model(adversarial_warmup_steps=2)
    model.build_optimizers()
    source, labels, target = tiny.batch()
    during = model.compute_losses(source, labels, target, training=False)
    np.testing.assert_allclose(during["f_loss"], during["seg_loss"], rtol=1e-6)
    model.f_optimizer.iterations.assign(2)
    after = model.compute_losses(source, labels, target, training=False)
    assert float(after["f_loss"]) > float(after["seg_loss"]) + 1e-3


@pytest.mark.parametrize("method", ["lsd", "feature_d"])
def test_d_label_smoothing_changes_d_s_loss_only(method):
    """The option reaches D's loss (and only D's): same weights and batch, with and
    without it."""
    source, labels, target = tiny.batch()
    plain = tiny.model(method=method).compute_losses(source, labels, target,
                                                     training=False)
    smoothed = tiny.model(method=method, d_label_smoothing=0.2).compute_losses(
        source, labels, target, training=False)
    assert abs(float(smoothed["d_loss"]) - float(plain["d_loss"])) > 1e-3
    for name in plain:
        if name != "d_loss":
            np.testing.assert_allclose(smoothed[name], plain[name], rtol=1e-6,
                                       err_msg=name)
    with pytest.raises(ValueError, match="d_label_smoothing"):
        tiny.model(method=method, d_label_smoothing=1.0)


def test_prediction_at_any_size_rounds_to_the_stride():
    model = tiny.model()
    images = tf.zeros((1, 45, 70, 3))  # CamVid-like sides that do not divide by 32
    assert model.predict_classes(images, (45, 70)).shape == (1, 45, 70)
