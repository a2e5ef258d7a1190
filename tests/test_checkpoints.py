"""Checkpoints hold F, C, G, D and every optimizer, and training resumes from them."""

import numpy as np
import pytest

from gta_keras import checkpoints
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

    # Resuming continues from the restored state exactly as the original would.
    tiny.train_one_step(fresh, tiny.batch(seed=2))
    assert restorer.step == 3


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    saver = checkpoints.Checkpointer(tiny.model(), str(tmp_path / "none"))
    assert saver.restore_latest() is None
    assert checkpoints.latest_step(str(tmp_path / "none")) == 0
    with pytest.raises(FileNotFoundError, match="Train first"):
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
