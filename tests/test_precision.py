"""`precision.policy = 'mixed_bfloat16'`: training stays finite, tracks float32, and its
checkpoint restores into the float32 model that evaluation and export build."""

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from gta_keras import checkpoints
from gta_keras import configurables
from gta_keras import experiment
from gta_keras import precision
from gta_keras.models import factory
from tests import tiny

STEPS = 3


def _build():
    return factory.build_model(num_classes=tiny.NUM_CLASSES, embedder=tiny.EMBEDDER,
                               **tiny.PLAYERS)


def _model_fn(policy):
    def model_fn():
        model = precision.build_in_policy(policy, _build)
        model.compile(configurables.adam(1e-3), configurables.adam(1e-3),
                      configurables.adam(1e-3))
        return model
    return model_fn


def _dataset_fn(before_reading, **unused_kwargs):
    before_reading()
    batches = [tiny.batch(seed=s) for s in range(STEPS)]
    return tf.data.Dataset.from_tensor_slices(
        tuple(tf.stack(x) for x in zip(*batches))).repeat()


def _train(workdir, policy):
    model, checkpointer = experiment.train(
        str(workdir), steps=STEPS, steps_per_epoch=STEPS, verbose=0, seed=0,
        dataset_fn=_dataset_fn, model_fn=_model_fn(policy))
    return model, checkpointer, model.history.history


def test_bfloat16_training_is_finite_and_tracks_float32(tmp_path):
    _, _, float32_logs = _train(tmp_path / "float32", "float32")
    model, checkpointer, bf16_logs = _train(tmp_path / "bf16", "mixed_bfloat16")
    assert keras.config.dtype_policy().name == "float32"  # Restored after the build.
    assert model.embedder.get_layer("block1_conv1").compute_dtype == "bfloat16"
    assert {v.dtype for v in model.embedder.weights} == {"float32"}
    for name in ("d_loss", "g_loss", "f_loss", "seg_loss"):
        bf16, float32 = bf16_logs[name][-1], float32_logs[name][-1]
        assert np.isfinite(bf16), name
        # Measured at 0.0% (seg_loss) to 0.9% (d_loss) after the first full-width step
        # (docs/performance.md); 5% leaves room for three steps of a tiny model.
        assert abs(bf16 - float32) <= 0.05 * abs(float32), (name, bf16, float32)

    # The bfloat16 run's checkpoint restores into a float32 model, weight for weight.
    gin.clear_config()
    fresh = _model_fn("float32")()
    checkpoints.Checkpointer(fresh, checkpointer.manager.directory).restore_latest(
        require=True)
    for trained, restored in zip(model.embedder.weights + model.discriminator.weights,
                                 fresh.embedder.weights + fresh.discriminator.weights):
        np.testing.assert_array_equal(trained.numpy(), restored.numpy())
    assert fresh.embedder.get_layer("block1_conv1").compute_dtype == "float32"


def test_an_unknown_policy_is_a_configuration_error():
    gin.bind_parameter("precision.policy", "float16")
    from gta_keras.data import pipeline  # pylint: disable=import-outside-toplevel
    with pytest.raises(pipeline.ConfigurationError, match="Unknown precision.policy"):
        experiment.build_training_model()
