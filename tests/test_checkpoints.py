"""Checkpoints hold F, C, G, D and every optimizer, and training resumes from them."""

import keras
import numpy as np
import pytest

from gta_keras import checkpoints
from gta_keras import configurables
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
    """2 steps + save + restore into a fresh model + 1 step == 3 steps, exactly.

    Dropout is off here: see the next test for why a run with dropout resumes on other
    dropout masks.
    """
    resumed = _resumed_run(tmp_path, dropout=False)
    _assert_same_state(resumed, _run(3, dropout=False))
    assert int(resumed.f_optimizer.iterations.numpy()) == 3


@pytest.mark.xfail(strict=True, reason=(
    "Dropout draws its masks from per-layer keras SeedGenerator states, which are not "
    "in the checkpoint: a resumed run continues from the saved weights and optimizer "
    "slots but draws other dropout masks than the uninterrupted run would, so its "
    "later steps differ. Checkpointing those states (e.g. every layer's "
    "seed_generator.state) would make this pass; then drop this marker."))
def test_resumed_run_with_dropout_equals_an_uninterrupted_one(tmp_path):
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
