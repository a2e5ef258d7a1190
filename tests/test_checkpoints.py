"""Checkpoints hold F, C, G, D and every optimizer, and training resumes from them."""

import glob
import os
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from gta_keras import checkpoints
from gta_keras import configurables
from gta_keras import experiment
from gta_keras.data import pipeline
from gta_keras.models import factory
from tests import tiny


def test_save_and_restore_every_player_and_optimizer(tmp_path):
    model = tiny.model()
    saver = checkpoints.Checkpointer(model, str(tmp_path))
    tiny.train_one_step(model, tiny.batch())
    tiny.train_one_step(model, tiny.batch(seed=1))
    saver.save()
    assert saver.step == 2
    assert checkpoints.latest_step(str(tmp_path)) == 2

    fresh = tiny.model()
    restorer = checkpoints.Checkpointer(fresh, str(tmp_path))
    assert restorer.restore_latest() is not None
    assert restorer.step == 2
    for name in ("embedder", "classifier", "generator", "discriminator"):
        for saved, restored in zip(getattr(model, name).weights,
                                   getattr(fresh, name).weights):
            np.testing.assert_array_equal(saved.numpy(), restored.numpy())
    for name in ("f_optimizer", "f_bias_optimizer", "g_optimizer", "d_optimizer"):
        saved, restored = getattr(model, name), getattr(fresh, name)
        assert int(restored.iterations.numpy()) == int(saved.iterations.numpy())
        for a, b in zip(saved.variables, restored.variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy())

    tiny.train_one_step(fresh, tiny.batch(seed=2))
    assert restorer.step == 3


PARTS = ("embedder", "classifier", "generator", "discriminator")
OPTIMIZERS = ("f_optimizer", "f_bias_optimizer", "g_optimizer", "d_optimizer")


def _set_dropout(model, rate):
    for part in PARTS:
        for layer in getattr(model, part).layers:
            if hasattr(layer, "rate"):
                layer.rate = rate
    return model


def _seeded_model(seed, dropout):
    keras.utils.set_random_seed(seed)
    model = tiny.model()
    return model if dropout else _set_dropout(model, 0.0)


def _run(steps, dropout):
    """An uninterrupted run of `steps` steps on batches 0, 1, ... from seed 0."""
    model = _seeded_model(0, dropout)
    for step in range(steps):
        tiny.train_one_step(model, tiny.batch(seed=step))
    return model


def _resumed_run(tmp_path, dropout):
    """Batches 0 and 1, a checkpoint, then batch 2 in a fresh process-like model."""
    interrupted = _run(2, dropout)
    checkpoints.Checkpointer(interrupted, str(tmp_path)).save()
    resumed = _seeded_model(123, dropout)  # other initial weights and dropout seeds
    checkpoints.Checkpointer(resumed, str(tmp_path)).restore_latest(require=True)
    tiny.train_one_step(resumed, tiny.batch(seed=2))
    return resumed


def _assert_same_state(a, b):
    """Every weight of F, C, G, D and every variable of the four optimizers (iteration
    counts, learning rates, Adam's first and second moments) is bit-for-bit equal."""
    for part in PARTS:
        _assert_equal_weights(getattr(a, part), getattr(b, part))
    for name in OPTIMIZERS:
        mine, theirs = getattr(a, name).variables, getattr(b, name).variables
        assert len(mine) == len(theirs) > 2, name
        for x, y in zip(mine, theirs):
            np.testing.assert_array_equal(x.numpy(), y.numpy(), err_msg=x.path)


def test_resumed_run_equals_an_uninterrupted_one(tmp_path):
    """2 steps + save + restore into a fresh model + 1 step == 3 steps, exactly
    (dropout off; the next test with it on)."""
    resumed = _resumed_run(tmp_path, dropout=False)
    _assert_same_state(resumed, _run(3, dropout=False))
    assert int(resumed.f_optimizer.iterations.numpy()) == 3


def test_resumed_run_with_dropout_equals_an_uninterrupted_one(tmp_path):
    """Dropout's SeedGenerator states are in the checkpoint: the resumed run draws the
    masks the uninterrupted one draws."""
    _assert_same_state(_resumed_run(tmp_path, dropout=True), _run(3, dropout=True))


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    saver = checkpoints.Checkpointer(tiny.model(), str(tmp_path / "none"))
    assert saver.restore_latest() is None
    assert checkpoints.latest_step(str(tmp_path / "none")) == 0
    with pytest.raises(checkpoints.CheckpointNotFoundError, match="Train first"):
        saver.restore_latest(require=True)


def test_source_only_checkpoint_restores_into_source_only(tmp_path):
    model = tiny.model(method="source_only")
    saver = checkpoints.Checkpointer(model, str(tmp_path))
    tiny.train_one_step(model, tiny.batch())
    saver.save()
    fresh = tiny.model(method="source_only")
    checkpoints.Checkpointer(fresh, str(tmp_path)).restore_latest(require=True)
    for a, b in zip(model.classifier.weights, fresh.classifier.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_checkpoint_of_a_differently_configured_run_is_a_clear_error(tmp_path):
    model = tiny.model()
    saver = checkpoints.Checkpointer(model, str(tmp_path))
    tiny.train_one_step(model, tiny.batch())
    saver.save()
    # Same players, but F's learning rate decays: its optimizer state has another layout.
    other = tiny.model()
    other.compile(configurables.adam(1e-3, decay_steps=10), configurables.adam(1e-3),
                  configurables.adam(1e-3), run_eagerly=True)
    with pytest.raises(checkpoints.CheckpointMismatchError, match="operative_config.gin"):
        checkpoints.Checkpointer(other, str(tmp_path)).restore_latest()


def _trained_checkpoint(tmp_path, model=None):
    """A (source-only by default) model trained one step, and its run folder."""
    model = model or tiny.model(method="source_only")
    workdir = tmp_path / "run"
    saver = checkpoints.Checkpointer(model, checkpoints.checkpoint_directory(str(workdir)))
    tiny.train_one_step(model, tiny.batch())
    saver.save()
    return model, workdir


def _assert_equal_weights(a, b):
    assert len(a.weights) == len(b.weights) > 0
    for x, y in zip(a.weights, b.weights):
        np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_warm_start_reads_f_and_c_from_a_source_only_run(tmp_path):
    source_only, workdir = _trained_checkpoint(tmp_path)
    adapted = tiny.model(method="lsd")
    checkpoints.Checkpointer(adapted, str(tmp_path / "adapted"))
    fresh_g = tiny.snapshot(adapted.generator.weights)
    fresh_d = tiny.snapshot(adapted.discriminator.weights)

    path = checkpoints.warm_start(adapted, str(workdir))

    assert path.endswith("ckpt-1")
    _assert_equal_weights(source_only.embedder, adapted.embedder)
    _assert_equal_weights(source_only.classifier, adapted.classifier)
    assert not any(tiny.changed(fresh_g, adapted.generator.weights))
    assert not any(tiny.changed(fresh_d, adapted.discriminator.weights))
    assert int(adapted.f_optimizer.iterations.numpy()) == 0  # a new run, from step 0


def test_warm_start_accepts_a_checkpoint_folder_or_path(tmp_path):
    source_only, workdir = _trained_checkpoint(tmp_path)
    folder = checkpoints.checkpoint_directory(str(workdir))
    for source in (folder, folder + "/ckpt-1"):
        adapted = tiny.model(method="lsd")
        assert checkpoints.warm_start(adapted, source) == folder + "/ckpt-1"
        _assert_equal_weights(source_only.embedder, adapted.embedder)


def test_warm_start_without_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(checkpoints.CheckpointNotFoundError,
                       match="No checkpoint to warm-start from"):
        checkpoints.warm_start(tiny.model(), str(tmp_path / "nowhere"))


def test_warm_start_from_a_different_segmenter_is_a_clear_error(tmp_path):
    wider = factory.build_model(
        num_classes=tiny.NUM_CLASSES, method="source_only",
        embedder=factory.EmbedderConfig(width_multiplier=1 / 32, fc_width=16))
    wider.compile(configurables.adam(1e-3))
    _, workdir = _trained_checkpoint(tmp_path, wider)
    with pytest.raises(checkpoints.CheckpointMismatchError,
                       match="do not match this model"):
        checkpoints.warm_start(tiny.model(), str(workdir))


def _two_checkpoints(directory):
    """A source-only model saved at steps 1 and 2; returns step 1's classifier weights."""
    model = tiny.model(method="source_only")
    saver = checkpoints.Checkpointer(model, directory)
    tiny.train_one_step(model, tiny.batch())
    saver.save()
    first = tiny.snapshot(model.classifier.weights)
    tiny.train_one_step(model, tiny.batch(seed=1))
    saver.save()
    return first


@pytest.mark.parametrize("damaged", ["data", "index"])
def test_a_damaged_newest_checkpoint_falls_back_to_the_previous_one(tmp_path, capsys,
                                                                    damaged):
    """What a kill or a full disk while writing ckpt-2's files leaves behind."""
    directory = str(tmp_path)
    first = _two_checkpoints(directory)
    (path,) = glob.glob(f"{directory}/ckpt-2.{damaged}*")
    with open(path, "r+b") as f:  # cut short, as a write that did not finish
        f.truncate(os.path.getsize(path) // 2)

    fresh = tiny.model(method="source_only")
    restorer = checkpoints.Checkpointer(fresh, directory)
    assert restorer.restore_latest().endswith("ckpt-1")
    assert restorer.step == 1
    assert not any(tiny.changed(first, fresh.classifier.weights))
    out = capsys.readouterr().out
    assert "ckpt-2 is damaged" in out and "resumed from the older checkpoint" in out


def test_no_readable_checkpoint_is_a_clear_error(tmp_path):
    directory = str(tmp_path)
    _two_checkpoints(directory)
    for path in glob.glob(f"{directory}/ckpt-*.data*"):
        with open(path, "r+b") as f:
            f.truncate(1)
    with pytest.raises(checkpoints.CorruptCheckpointError, match="can be read"):
        checkpoints.Checkpointer(tiny.model(method="source_only"),
                                 directory).restore_latest()


def test_an_interrupted_save_leaves_the_previous_checkpoint_newest(tmp_path):
    """TensorFlow writes ckpt-N's files, then renames the `checkpoint` index into place:
    a kill before the rename (simulated: ckpt-2's files beside the index of ckpt-1)
    leaves ckpt-1 the one restored."""
    directory = str(tmp_path)
    model = tiny.model(method="source_only")
    saver = checkpoints.Checkpointer(model, directory)
    tiny.train_one_step(model, tiny.batch())
    saver.save()
    first = tiny.snapshot(model.classifier.weights)
    index = os.path.join(directory, "checkpoint")
    with open(index) as f:
        before = f.read()
    tiny.train_one_step(model, tiny.batch(seed=1))
    saver.save()
    assert tf.train.latest_checkpoint(directory).endswith("ckpt-2")
    with open(index, "w") as f:
        f.write(before)
    fresh = tiny.model(method="source_only")
    assert checkpoints.Checkpointer(fresh, directory).restore_latest().endswith("ckpt-1")
    assert not any(tiny.changed(first, fresh.classifier.weights))


def _poisoned_model(step, player_loss):
    """A tiny lsd model whose `player_loss` is NaN in training step `step` (1-based)."""
    return tiny.poison_loss(tiny.model(), step, player_loss)


@pytest.mark.parametrize("player_loss", ["d_loss", "f_loss"])
def test_a_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path,
                                                                       player_loss):
    def dataset_fn(before_reading, **unused_kwargs):
        before_reading()
        return tf.data.Dataset.from_tensors(tiny.batch()).repeat()

    workdir = tmp_path / "run"
    with pytest.raises(checkpoints.DivergenceError) as raised:
        experiment.train(str(workdir), steps=5, steps_per_epoch=1, verbose=0,
                         dataset_fn=dataset_fn,
                         model_fn=lambda: _poisoned_model(3, player_loss))
    match = re.match(r"(\w+) became nan at step 3: training stopped without saving that "
                     r"state; the newest checkpoint, (\S+) \(step 2\), is kept",
                     str(raised.value))
    assert match and match[1] == player_loss, raised.value
    kept = 2
    directory = checkpoints.checkpoint_directory(str(workdir))
    assert checkpoints.latest_step(directory) == kept
    assert match[2] == tf.train.latest_checkpoint(directory)
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(directory))
    for name in reader.get_variable_to_shape_map():
        value = reader.get_tensor(name)
        if np.issubdtype(np.asarray(value).dtype, np.floating):
            assert np.all(np.isfinite(value)), name


def _numbered_loader(name, split, **unused_kwargs):
    """Eight frames per domain, frame i filled with i (the source's labels too)."""
    offset = 0 if name == "source" else 100
    frames = np.arange(offset, offset + 8, dtype=np.uint8)[:, None, None, None]
    images = np.broadcast_to(frames, (8, 48, 96, 3)).copy()
    labels = np.broadcast_to(frames, (8, 48, 96, 1)).copy()
    return tf.data.Dataset.from_tensor_slices((images, labels))


def test_a_resumed_pipeline_continues_the_uninterrupted_data_order():
    """`start_step=k` gives batch k, k+1, ... of the run from step 0: same frames (across
    reshuffled passes over the data), same crops."""

    def batches(start_step, count):
        dataset = pipeline.make_train_dataset(
            source="source", target="target", image_size=(32, 64), batch_size=3, seed=4,
            shuffle_buffer=8, start_step=start_step, load_fn=_numbered_loader)
        return [[t.numpy() for t in batch] for batch in dataset.take(count)]

    straight = batches(0, 9)  # 27 triplets: more than three passes over 8 frames
    for start in (1, 5):
        for expected, actual in zip(straight[start:], batches(start, 9 - start)):
            for a, b in zip(expected, actual):
                np.testing.assert_array_equal(a, b)
    assert not np.array_equal(straight[0][0], straight[3][0])
