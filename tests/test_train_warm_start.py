"""`train(warm_start_from=...)` initialises F and C once, at the start of a new run."""

import pytest
import tensorflow as tf

from gta_keras import checkpoints
from gta_keras import experiment
from gta_keras.models import factory
from tests import tiny


def _tiny_dataset(before_reading, **unused_kwargs):
    before_reading()
    return tf.data.Dataset.from_tensors(tiny.batch()).repeat()


def _tiny_source_only():
    """Source-only keeps the traced step small; the warm start reads F and C alike for
    "lsd" (tests/test_checkpoints.py). Compiled for graph mode, as training runs."""
    return experiment.compile_model(
        factory.build_model(num_classes=tiny.NUM_CLASSES, method="source_only",
                            embedder=tiny.EMBEDDER))


def _tiny_train(workdir, steps, **kwargs):
    """Runs `experiment.train` on tiny random triplets with a tiny model."""
    return experiment.train(str(workdir), steps=steps, steps_per_epoch=1, verbose=0,
                            dataset_fn=_tiny_dataset, model_fn=_tiny_source_only,
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
    _, checkpointer = _tiny_train(tmp_path / "warm", steps=1,
                                  warm_start_from=str(tmp_path / "so"))
    read = str(tmp_path / "so" / "checkpoints" / "ckpt-1")  # the run's newest checkpoint
    assert calls == [read]
    assert checkpointer.step == 1  # counted from 0, not from the source run's step

    # Resuming reads this run's own checkpoint, not the warm start again.
    _, checkpointer = _tiny_train(tmp_path / "warm", steps=2,
                                  warm_start_from=str(tmp_path / "so"))
    assert calls == [read]
    assert checkpointer.step == 2


def test_missing_warm_start_fails_before_any_data_work(tmp_path):
    def no_data(**unused):
        raise AssertionError("the data pipeline ran before the warm-start path was checked")

    with pytest.raises(checkpoints.CheckpointNotFoundError, match="warm-start"):
        experiment.train(str(tmp_path / "run"), steps=1, steps_per_epoch=1,
                         warm_start_from=str(tmp_path / "nowhere"), dataset_fn=no_data)
    assert not (tmp_path / "run").exists()
