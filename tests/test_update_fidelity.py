"""The model does what the paper and the reference code do, checked where it can differ.

Model-level counterparts of `tests/test_losses.py` (issue 12): which D output each
auxiliary term reads inside `compute_losses`, at which parameters F's gradient is taken,
the learning rates F and C's biases really get, the labels D's auxiliary head sees, G's
layer plan, and how predictions reach the label size in evaluation. The reference code is
swamiviv/LSD-seg; file and line numbers refer to its `code/` folder.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from gta_keras import configurables
from gta_keras.data import preprocessing
from gta_keras.models import generator as generator_lib
from tests import tiny

PLAYERS = ("discriminator", "generator", "segmenter")


def _without_dropout(model):
    """Sets every dropout rate to 0, so that two forward passes agree exactly."""
    for player in (model.embedder, model.classifier, model.generator,
                   model.discriminator):
        for layer in player.layers:
            if hasattr(layer, "rate"):
                layer.rate = 0.0
    return model


def _gradients(model, loss_name, variables, batch):
    with tf.GradientTape() as tape:
        step_losses = model.compute_losses(*batch, training=True)
    return tape.gradient(step_losses[loss_name], variables)


def _largest(gradients):
    return max(float(tf.reduce_max(tf.abs(g))) for g in gradients if g is not None)


def test_d_s_aux_term_reads_d_of_x_s_while_g_s_and_f_s_read_d_of_g_f_x_s():
    """With D's domain head switched off and w_rec = 0, only the aux terms reach G.

    D's aux term reads D(x_s) (reference trainer_LSD.py:254, `outD_src_real_c`), so
    d_loss does not depend on G; G's and F's read D(G(F(x_s))) (:268 and :283,
    `outD_src_fake_c`), so g_loss and f_loss do.
    """
    model = tiny.model()
    head = model.discriminator.get_layer("domain_head")
    for weight in head.weights:
        weight.assign(tf.zeros_like(weight))
    model.loss_weights = model.loss_weights._replace(reconstruction=0.0)
    batch = tiny.batch()
    generator = model.player_variables("generator")
    assert all(g is None or not np.any(g.numpy())
               for g in _gradients(model, "d_loss", generator, batch))
    assert _largest(_gradients(model, "g_loss", generator, batch)) > 0
    assert _largest(_gradients(model, "f_loss", generator, batch)) > 0
    # D's aux term still trains D's aux head.
    aux_head = model.discriminator.get_layer("aux_head").weights
    assert _largest(_gradients(model, "d_loss", aux_head, batch)) > 0


def _sgd_model(update_reading):
    """A tiny model on plain SGD, whose step is exactly -rate * gradient.

    Seeded: how far one step of G and D moves F's gradient depends on the initial weights
    (unseeded, the test failed under Bazel's test order; at equal rates, seed 5 of seeds
    0-5 moves it by 0.96% of F's step, under the 1% the test asks). G and D step at 10x
    F's rate so that their move is clearly measurable: over seeds 0-5 it changes F's step
    by 2% to 12x its size.
    """
    keras.utils.set_random_seed(0)
    model = _without_dropout(tiny.model(update_reading=update_reading))
    model.compile(keras.optimizers.SGD(1e-3), keras.optimizers.SGD(1e-2),
                  keras.optimizers.SGD(1e-2), run_eagerly=True)
    model.build_optimizers()
    return model


def _expected_segmenter_step(model, gradients):
    """-rate * gradient, at twice the rate for biases (checked on its own below)."""
    rate = float(model.f_optimizer.learning_rate)
    return [-rate * (2.0 if v.name == "bias" else 1.0) * g.numpy()
            for v, g in zip(model.player_variables("segmenter"), gradients)]


def _distance(steps, expected):
    return max(float(np.max(np.abs(s - e))) for s, e in zip(steps, expected))


@pytest.mark.parametrize("update_reading", ["single_pass", "sequential"])
def test_f_s_gradient_is_taken_at_the_pre_update_g_and_d_in_single_pass(update_reading):
    """F's step equals its gradient at the old G and D in single_pass (reference
    trainer_LSD.py:212-288: one forward pass, then D, G, F step in turn on it), and at
    the already updated G and D in the sequential reading."""
    model = _sgd_model(update_reading)
    batch = tiny.batch()
    segmenter = model.player_variables("segmenter")
    before = tiny.snapshot(segmenter)
    at_old_g_and_d = _expected_segmenter_step(
        model, _gradients(model, "f_loss", segmenter, batch))

    tiny.train_one_step(model, batch)
    steps = [v.numpy() - b for v, b in zip(segmenter, before)]
    # F's gradient at the new G and D, from F's old weights.
    after = tiny.snapshot(segmenter)
    for variable, value in zip(segmenter, before):
        variable.assign(value)
    at_new_g_and_d = _expected_segmenter_step(
        model, _gradients(model, "f_loss", segmenter, batch))
    for variable, value in zip(segmenter, after):
        variable.assign(value)

    scale = max(float(np.max(np.abs(s))) for s in steps)
    # The two readings give measurably different F steps on this input...
    assert _distance(at_old_g_and_d, at_new_g_and_d) > 1e-2 * scale
    # ...and the model takes the one its reading prescribes.
    right, wrong = ((at_old_g_and_d, at_new_g_and_d) if update_reading == "single_pass"
                    else (at_new_g_and_d, at_old_g_and_d))
    assert _distance(steps, right) < 1e-4 * scale
    assert _distance(steps, wrong) > 1e-2 * scale


def test_f_and_c_biases_and_only_they_move_at_twice_the_rate():
    """Adam's first step moves a weight by about its rate: lr for F and C's kernels, 2 lr
    for their biases (reference train.py:97-104), lr for all of G and D, biases too."""
    model = _without_dropout(tiny.model())  # Adam, rate 1e-3 for every player
    model.build_optimizers()
    rate = 1e-3
    batch = tiny.batch()
    variables = {player: model.player_variables(player) for player in PLAYERS}
    loss_of = {"discriminator": "d_loss", "generator": "g_loss", "segmenter": "f_loss"}
    gradients = {player: _gradients(model, loss_of[player], variables[player], batch)
                 for player in PLAYERS}
    before = {player: tiny.snapshot(vs) for player, vs in variables.items()}
    tiny.train_one_step(model, batch)

    checked = {(player, kind): 0 for player in PLAYERS for kind in ("kernel", "bias")}
    for player in PLAYERS:
        for variable, old, gradient in zip(variables[player], before[player],
                                           gradients[player]):
            # Adam's first step is rate * g / (|g| + 3.2e-6): about the rate where
            # |g| >> 3.2e-6.
            significant = np.abs(gradient.numpy()) > 1e-2
            if not significant.any():
                continue
            is_bias = variable.name == "bias"
            expected = rate * (2.0 if is_bias and player == "segmenter" else 1.0)
            moved = np.abs(variable.numpy() - old)[significant]
            np.testing.assert_allclose(moved, expected, rtol=1e-2,
                                       err_msg=f"{player} {variable.path}")
            checked[(player, "bias" if is_bias else "kernel")] += 1
    assert all(checked.values()), checked


def test_f_s_rate_decay_reaches_kernels_and_biases_alike_and_not_g_or_d():
    """`f/adam.decay_steps`: F and C's rate x0.1 every decay_steps updates, the biases
    staying at twice the kernels' rate, as the reference's step_scheduler decays every
    parameter group of F's optimizer (utils.py:70-82) at the start of every 8th epoch
    (trainer_LSD.py:358-359): update k uses 0.1^floor(k / decay_steps). G and D keep
    theirs."""
    model = tiny.model()
    model.compile(configurables.adam(1e-5, decay_steps=10, decay_rate=0.1),
                  configurables.adam(1e-4), configurables.adam(2e-4), run_eagerly=True)
    model.build_optimizers()
    optimizers = (model.f_optimizer, model.f_bias_optimizer, model.g_optimizer,
                  model.d_optimizer)
    for updates_done, factor in ((0, 1.0), (9, 1.0), (10, 0.1), (25, 0.01)):
        for optimizer in optimizers:
            optimizer.iterations.assign(updates_done)
        rates = [float(optimizer.learning_rate) for optimizer in optimizers]
        np.testing.assert_allclose(rates, [1e-5 * factor, 2e-5 * factor, 1e-4, 2e-4],
                                   rtol=1e-6, err_msg=f"after {updates_done} updates")


def test_labels_at_is_nearest_at_exactly_one_eighth_and_keeps_void():
    """D's aux labels: the label of the pixel PIL's NEAREST picks, as the reference's
    `transform_label_forD` (datasets/segmentation_datasets.py:144-154); void stays void."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 19, (2, 32, 64, 1)).astype(np.uint8)
    labels[0, :16, :32] = 255  # a void corner
    labels[1, 4::8, 4::8][:2] = 255  # void exactly at some sampled pixels
    at_d = preprocessing.labels_at(tf.constant(labels), (4, 8)).numpy()
    assert at_d.shape == (2, 4, 8) and at_d.dtype == np.int32
    # Pixel (8i + 4, 8j + 4) of each 8x8 block: no interpolation, no shift.
    np.testing.assert_array_equal(at_d, labels[:, 4::8, 4::8, 0])
    for image, result in zip(labels[..., 0], at_d):
        reference = np.array(Image.fromarray(image).resize((8, 4), Image.NEAREST))
        np.testing.assert_array_equal(result, reference)
    assert np.all(at_d[0, :2, :4] == 255)
    # The size the model asks for is D's output size, 1/8 of the input.
    model = tiny.model()
    source, _, _ = tiny.batch()
    assert model.discriminator(source / 255.0)["aux"].shape[1:3] == (4, 8)


def test_generator_stages_kernels_widths_and_concat_points():
    """G at the paper's widths, against DESIGN §1 and the reference's `_netG`
    (models/fcn8s_LSD.py:115-160): ConvT 7x7 -> 256; ConvT 3x3 s2 -> 512; concat pool4;
    ConvT 3x3 s2 -> 256; concat pool3; ConvT 5x5 s2 -> 128; ConvT 5x5 s2 -> 64; each
    followed by two residual blocks; ConvT s2 -> 3 with a sigmoid."""
    fc_width = 8  # fc7's width only sets stage 1's input channels
    generator = generator_lib.build_generator(fc_width, 512, 256)
    plan = {  # layer: (kernel, stride, filters, input channels)
        "stage1_deconv": (7, 1, 256, fc_width),
        "stage2_deconv": (3, 2, 512, 256),
        "stage3_deconv": (3, 2, 256, 512 + 512),
        "stage4_deconv": (5, 2, 128, 256 + 256),
        "stage5_deconv": (5, 2, 64, 128),
        "to_rgb": (3, 2, 3, 64),
    }
    for name, (kernel, stride, filters, in_channels) in plan.items():
        layer = generator.get_layer(name)
        assert isinstance(layer, keras.layers.Conv2DTranspose), name
        assert (layer.kernel_size, layer.strides, layer.filters) == (
            (kernel, kernel), (stride, stride), filters), name
        assert layer.input.shape[-1] == in_channels, name
    assert generator.get_layer("to_rgb").activation is keras.activations.sigmoid

    def producers(layer_name):
        """Names of the layers (or inputs) whose outputs feed `layer_name`."""
        inputs = generator.get_layer(layer_name).input
        inputs = inputs if isinstance(inputs, list) else [inputs]
        return [t._keras_history.operation.name for t in inputs]

    # pool4 joins after stage 2's blocks (stride 16), pool3 after stage 3's (stride 8).
    assert producers("concat_pool4") == ["stage2_res1_add", "pool4"]
    assert producers("concat_pool3") == ["stage3_res1_add", "pool3"]
    assert producers("stage3_deconv") == ["concat_pool4"]
    assert producers("stage4_deconv") == ["concat_pool3"]
    for stage, width in zip(range(1, 6), (256, 512, 256, 128, 64)):
        for block in range(2):
            conv = generator.get_layer(f"stage{stage}_res{block}_conv")
            assert (conv.kernel_size, conv.filters) == ((3, 3), width)
    assert len([l for l in generator.layers if l.name.endswith("_add")]) == 10
    features = {"fc7": tf.zeros([1, 1, 2, fc_width]), "pool4": tf.zeros([1, 2, 4, 512]),
                "pool3": tf.zeros([1, 4, 8, 256])}
    assert generator(features).shape == (1, 32, 64, 3)


class _FixedLogits(keras.Model):
    """A hand-set C: the same logits [H, W, K] for every image, whatever F computed."""

    def __init__(self, logits):
        super().__init__()
        self.logits = tf.constant(logits, tf.float32)

    def call(self, features, training=False):
        batch = tf.shape(features["fc7"])[0]
        return tf.tile(self.logits[None], [batch, 1, 1, 1])


def _model_with_classifier(logits, eval_size, upsampling=None):
    model = tiny.model()
    model.classifier = _FixedLogits(logits)
    model.eval_size = eval_size
    if upsampling is not None:
        model.upsampling = upsampling
    return model


# Left half sure of class 0, right half of class 1; class 2 second everywhere. Where
# the bilinearly resized logits mix the halves, class 2 comes out on top.
TWO_HALVES = np.zeros((32, 64, 3), np.float32)
TWO_HALVES[:, :32] = (4.0, 0.0, 3.5)
TWO_HALVES[:, 32:] = (0.0, 4.0, 3.5)


def test_evaluation_resizes_logits_bilinearly_then_takes_the_argmax():
    """Default ("bilinear_logits"): x2 to 128 columns, output column x reads prediction
    column (x + 0.5) / 2 - 0.5. Columns 63 and 64 mix the halves 3:1 and 1:3 -> (3, 1,
    3.5) and (1, 3, 3.5): class 2, which neither half predicts."""
    model = _model_with_classifier(TWO_HALVES, (32, 64))
    classes = model.predict_classes(tf.zeros([1, 32, 64, 3]), (64, 128)).numpy()
    expected = np.array([0] * 63 + [2, 2] + [1] * 63)
    assert classes.shape == (1, 64, 128)
    np.testing.assert_array_equal(classes[0], np.tile(expected, (64, 1)))


def test_evaluation_with_nearest_labels_is_the_reference_s_upsampling():
    """"nearest_labels": argmax at prediction size, label map resized by nearest
    neighbour, as the reference's eval_cityscapes.py:69-77 and :134-137 (PIL NEAREST from
    640x320 to 2048x1024, a factor of 3.2)."""
    model = _model_with_classifier(TWO_HALVES, (32, 64), "nearest_labels")
    classes = model.predict_classes(tf.zeros([1, 32, 64, 3]), (64, 128)).numpy()
    np.testing.assert_array_equal(classes[0], np.tile([0] * 64 + [1] * 64, (64, 1)))

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(160, 320, 19)).astype(np.float32)
    model = _model_with_classifier(logits, (160, 320), "nearest_labels")
    classes = model.predict_classes(tf.zeros([1, 200, 400, 3]), (512, 1024)).numpy()
    reference = np.array(Image.fromarray(np.argmax(logits, -1).astype(np.uint8))
                         .resize((1024, 512), Image.NEAREST))
    np.testing.assert_array_equal(classes[0], reference)
