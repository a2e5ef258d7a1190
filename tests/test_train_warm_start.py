"""`train(warm_start_from=...)` initialises F and C once, at the start of a new run."""

import pytest
import tensorflow as tf

from gta_keras import checkpoints
from gta_keras import experiment
from gta_keras.models import factory
from tests import tiny

_BUILD_MODEL = factory.build_model  # before any test replaces it


def _tiny_train(monkeypatch, workdir, steps, **kwargs):
    """Runs `experiment.train` on tiny random triplets with a tiny model.

    Source-only keeps the traced step small; the warm start reads F and C alike for
    "lsd" (tests/test_checkpoints.py).
    """
    monkeypatch.setattr(experiment.pipeline, "make_train_dataset",
                        lambda **unused: tf.data.Dataset.from_tensors(tiny.batch()).repeat())
    monkeypatch.setattr(
        experiment.factory, "build_model",
        lambda: _BUILD_MODEL(num_classes=tiny.NUM_CLASSES, method="source_only",
                             width_multiplier=1 / 32, fc_width=8))
    return experiment.train(str(workdir), steps=steps, steps_per_epoch=1, verbose=0,
                            **kwargs)


def test_warm_start_on_a_new_run_only(monkeypatch, tmp_path):
    source_only = tiny.model(method="source_only")
    saver = checkpoints.Checkpointer(source_only,
                                     checkpoints.checkpoint_directory(str(tmp_path / "so")))
    tiny.train_one_step(source_only, tiny.batch())
    saver.save()
    calls = []
    real_warm_start = checkpoints.warm_start

    def spy(model, source):
        calls.append(source)
        path = real_warm_start(model, source)
        # F as read, before this run's first step moves it.
        for a, b in zip(source_only.embedder.weights, model.embedder.weights):
            tf.debugging.assert_equal(a, b)
        return path

    monkeypatch.setattr(experiment.checkpoints, "warm_start", spy)
    _, checkpointer = _tiny_train(monkeypatch, tmp_path / "warm", steps=1,
                                  warm_start_from=str(tmp_path / "so"))
    read = str(tmp_path / "so" / "checkpoints" / "ckpt-1")  # the run's newest checkpoint
    assert calls == [read]
    assert checkpointer.step == 1  # counted from 0, not from the source run's step

    # Resuming reads this run's own checkpoint, not the warm start again.
    _, checkpointer = _tiny_train(monkeypatch, tmp_path / "warm", steps=2,
                                  warm_start_from=str(tmp_path / "so"))
    assert calls == [read]
    assert checkpointer.step == 2


def test_missing_warm_start_fails_before_any_data_work(monkeypatch, tmp_path):
    def no_data(**unused):
        raise AssertionError("the data pipeline ran before the warm-start path was checked")

    monkeypatch.setattr(experiment.pipeline, "make_train_dataset", no_data)
    with pytest.raises(checkpoints.CheckpointNotFoundError, match="warm-start"):
        experiment.train(str(tmp_path / "run"), steps=1, steps_per_epoch=1,
                         warm_start_from=str(tmp_path / "nowhere"))
    assert not (tmp_path / "run").exists()
