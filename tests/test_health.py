"""Training health (gta_keras/health.py): what a run writes for TensorBoard, and its plot.

One tiny lsd run through `experiment.train` (eager, 2 steps, 2 checkpoints, written every
step) is read back from its event files; a second run with the health summaries off must
end with the same weights, bit for bit.
"""

import os
import sys
import types

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from gta_keras import configurables
from gta_keras import experiment
from gta_keras import health
from gta_keras import runs
from gta_keras.models import adaptation_model
from gta_keras.models import factory
from tests import tiny

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "scripts"))
import plot_run  # pylint: disable=g-import-not-at-top,wrong-import-position

STEPS = 2
STEPS_PER_EPOCH = 1
MIOU = 0.25  # What the stand-in checkpoint score returns.


def _model(method):
    """A tiny model compiled with an optimizer for each player the method has."""
    built = factory.build_model(num_classes=tiny.NUM_CLASSES, method=method,
                                embedder=tiny.EMBEDDER)
    built.compile(configurables.adam(1e-3),
                  configurables.adam(1e-3) if "generator" in built.players else None,
                  configurables.adam(1e-3) if "discriminator" in built.players else None,
                  run_eagerly=True)
    return built


def _batches():
    source, labels, target = tiny.batch(batch_size=2, seed=7)
    return {"source": (source.numpy(), labels.numpy()),
            "target": (target.numpy(), labels.numpy())}


def _train(workdir, every_steps):
    gin.clear_config()
    gin.bind_parameter("training_health.every_steps", every_steps)

    def dataset_fn(before_reading, **unused_kwargs):
        before_reading()
        batches = [tiny.batch(seed=seed) for seed in range(2)]
        return tf.data.Dataset.from_tensor_slices(
            tuple(tf.stack(x) for x in zip(*batches))).repeat()

    return experiment.train(
        str(workdir), steps=STEPS, steps_per_epoch=STEPS_PER_EPOCH, verbose=0, seed=1,
        dataset_fn=dataset_fn, model_fn=lambda: _model("lsd"),
        health_data_fn=lambda model: health.HealthData(_batches(), lambda: MIOU,
                                                       "tiny:validation"))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("health")
    model, _ = _train(root / "with", every_steps=1)
    return root, model


def _tags(directory):
    """{tag: plugin name} of every tensor summary under `directory`."""
    from tensorboard.backend.event_processing import event_accumulator  # pylint: disable=import-outside-toplevel
    tags = {}
    for folder in plot_run.event_folders(directory):
        events = event_accumulator.EventAccumulator(folder)
        events.Reload()
        for tag in events.Tags()[event_accumulator.TENSORS]:
            tags[tag] = events.SummaryMetadata(tag).plugin_data.plugin_name
    return tags


def test_event_files_hold_images_confusion_terms_and_checkpoint_miou(run):
    root, _ = run
    logs = runs.log_dir(str(root / "with"))
    tags = _tags(logs)
    for tag in ("images/source", "images/target", health.CONFUSION_IMAGE_TAG):
        assert tags.get(tag) == "images", tag
    for name in adaptation_model.loss_term_names("lsd"):
        assert tags.get(health.TERM_PREFIX + name) == "scalars", name
    scalars = plot_run.read_scalars(logs)
    # Every step writes the loss terms (from step 1) and looks (from step 0).
    assert [step for step, _ in scalars["loss_terms/g/l1_source"]] == [1, 2]
    assert [step for step, _ in scalars["confusion/src_real_as_src_real"]] == [0, 1, 2]
    assert scalars[health.MIOU_TAG] == [(1, MIOU), (2, MIOU)]  # At each checkpoint.
    for step in range(STEPS + 1):
        rates = np.array([[dict(scalars[tag])[step] for tag in row]
                          for row in health.confusion_tags(health.IMAGE_D_DOMAINS)])
        assert np.all((rates >= 0) & (rates <= 1))
        np.testing.assert_allclose(rates.sum(axis=1), 1.0, rtol=1e-6)


def test_loss_terms_are_window_means_of_finite_values(run):
    _, model = run
    scalars = plot_run.read_scalars(runs.log_dir(str(run[0] / "with")))
    for name in adaptation_model.loss_term_names("lsd"):
        values = [value for _, value in scalars[health.TERM_PREFIX + name]]
        assert np.all(np.isfinite(values)) and len(values) == STEPS, name
    # Reset after each write: nothing is left counted after the last one.
    assert all(float(t.count.numpy()) == 0 for t in model.term_trackers.values())


def test_health_summaries_do_not_change_training(run):
    root, with_health = run
    without, _ = _train(root / "without", every_steps=0)
    assert not os.path.exists(os.path.join(runs.log_dir(str(root / "without")),
                                           health.LOG_SUBDIR))
    for part in ("embedder", "classifier", "generator", "discriminator"):
        for a, b in zip(getattr(with_health, part).weights, getattr(without, part).weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)


def test_plot_run_writes_one_png_of_the_curves(run, tmp_path):
    root, _ = run
    scalars = plot_run.read_scalars(runs.log_dir(str(root / "with")))
    output = tmp_path / "health.png"
    # D, G, F terms; the sums; mIoU; 4 confusion rows.
    assert plot_run.plot(scalars, str(output), "tiny", epoch_steps=STEPS_PER_EPOCH) == 9
    # Keras' epoch sums (epochs 0, 1) are drawn at the steps their epochs end.
    sums = dict((title, curves) for title, _, curves in plot_run.panels(scalars, 1))
    assert [step for step, _ in sums["loss sums, mean per epoch"]["d_loss"]] == [1, 2]
    (tmp_path / "operative_config.gin").write_text("train.steps_per_epoch = 250\n")
    assert plot_run.steps_per_epoch(str(tmp_path)) == 250
    with Image.open(output) as image:
        assert image.format == "PNG" and image.width > 600
    with pytest.raises(ValueError, match="No training-health scalars"):
        plot_run.plot({}, str(tmp_path / "none.png"), "empty")


@pytest.mark.parametrize("method", adaptation_model.METHODS)
def test_terms_are_the_named_ones_and_add_up_to_each_loss(method):
    """Each method's terms, by name, and its losses rebuilt from them bit for bit."""
    keras.utils.set_random_seed(0)
    model = _model(method)
    step_losses = model.compute_losses(*tiny.batch(), training=False)
    terms = step_losses.terms
    assert tuple(terms) == adaptation_model.loss_term_names(method)
    assert all(np.isfinite(float(value)) for value in terms.values())
    player = lambda name: {k.split("/", 1)[1]: v for k, v in terms.items()
                           if k.startswith(name + "/")}
    weights = model.loss_weights
    assert float(step_losses["f_loss"]) == float(
        adaptation_model.losses.f_total(player("f"), weights))
    if "d_loss" in step_losses:
        assert float(step_losses["d_loss"]) == float(
            adaptation_model.losses.d_total(player("d")))
    if "g_loss" in step_losses:
        assert float(step_losses["g_loss"]) == float(
            adaptation_model.losses.g_total(player("g"), weights))
    assert float(terms["f/segmentation"]) == float(step_losses["seg_loss"])


@pytest.mark.parametrize("method,domains,columns", [
    ("feature_d", health.FEATURE_D_DOMAINS, 3), ("source_only", None, 3),
    ("no_aux", health.IMAGE_D_DOMAINS, 4)])
def test_look_fits_each_method(method, domains, columns):
    """feature_d: a 2x2 confusion and no reconstruction; source_only: no confusion."""
    model = _model(method)
    panels, confusion = health.look(model, _batches())
    height, width = tiny.IMAGE_SIZE
    for rows in panels.values():
        assert rows.shape == (2, height, columns * width, 3) and rows.dtype == np.uint8
    if domains is None:
        assert confusion is None
        return
    names, rates = confusion
    assert names == domains and rates.shape == (len(domains), len(domains))
    np.testing.assert_allclose(rates.sum(axis=1), 1.0)


def test_confusion_rates_count_each_row_s_decisions():
    rates = health.confusion_rates([np.array([[0, 0], [2, 3]]), np.array([1]),
                                    np.zeros((0,), int), np.full((2, 2, 2), 3)], 4)
    np.testing.assert_array_equal(rates, [[0.5, 0, 0.25, 0.25], [0, 1, 0, 0], [0, 0, 0, 0],
                                          [0, 0, 0, 1]])
    image = health.confusion_image(health.IMAGE_D_DOMAINS, rates)
    assert image.dtype == np.uint8 and image.shape[2] == 3


def test_shrink_keeps_palette_colours_and_caps_panel_width():
    rows = np.arange(2 * 8 * 24 * 3, dtype=np.uint8).reshape(2, 8, 24, 3)
    shrunk = health.shrink(rows, num_columns=3, max_panel_width=3)  # 8 wide -> factor 3
    assert shrunk.shape == (2, 3, 8, 3)
    np.testing.assert_array_equal(shrunk, rows[:, ::3, ::3])
    assert health.shrink(rows, 3, 256).shape == rows.shape


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="every_steps"):
        health.settings(every_steps=-1)
    assert health.settings()["every_steps"] is None


def test_a_validation_split_smaller_than_the_score_size_is_read_whole(monkeypatch):
    """TFDS refuses "validation[:100]" of a 2-frame split: the health score reads it whole."""
    splits = {"validation": types.SimpleNamespace(num_examples=2),
              "train": types.SimpleNamespace(num_examples=300)}
    builder = types.SimpleNamespace(info=types.SimpleNamespace(splits=splits))
    monkeypatch.setattr(experiment.pipeline, "prepare_split", lambda *args: builder)
    assert experiment._first_frames("gta5", "validation", 100, None, None) == "validation"
    assert experiment._first_frames("gta5", "train", 100, None, None) == "train[:100]"
    # A split TFDS does not list is left for check_split to name.
    assert experiment._first_frames("gta5", "test", 100, None, None) == "test[:100]"


def test_the_fixed_batches_are_every_frame_of_the_named_slices():
    """`load_batches` reads each split it is given to its end, resized to the training size.

    `experiment` hands it the slice of the first frames ("validation[:2]"): a slice read to
    its end is what spares TFDS's cache of a small split its "read only in part" warning.
    """
    asked = []

    def load_fn(name, split, data_dir=None, manual_dir=None):
        asked.append((name, split))
        sizes = [(40, 60), (64, 128), (32, 32)]  # Frames of one split may differ in size.
        images = [tf.fill([h, w, 3], tf.constant(i, tf.uint8))
                  for i, (h, w) in enumerate(sizes)]
        labels = [tf.zeros([h, w, 1], tf.uint8) for h, w in sizes]
        return tf.data.Dataset.from_generator(
            lambda: zip(images, labels),
            output_signature=(tf.TensorSpec([None, None, 3], tf.uint8),
                              tf.TensorSpec([None, None, 1], tf.uint8)))

    batches = health.load_batches({"source": ("procedural_streets/synthetic",
                                              "validation[:3]")}, (32, 64), load_fn=load_fn)
    images, labels = batches["source"]
    assert asked == [("procedural_streets/synthetic", "validation[:3]")]
    assert images.shape == (3, 32, 64, 3) and labels.shape == (3, 32, 64, 1)
    assert [float(image.mean()) for image in images] == [0.0, 1.0, 2.0]
