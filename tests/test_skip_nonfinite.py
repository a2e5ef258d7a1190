"""`compile_model.skip_nonfinite_steps`: a step with a NaN loss moves nothing and is counted."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gta_keras import configurables
from gta_keras import experiment
from tests import tiny


def _poisoned_model(step, player_loss, update_reading="single_pass", run_eagerly=True):
    """A tiny lsd model skipping non-finite steps, whose `player_loss` is NaN in training
    step `step` (1-based: while F's optimizer has taken step - 1 steps)."""
    keras.utils.set_random_seed(0)
    model = tiny.model(update_reading=update_reading)
    model.compile(configurables.adam(1e-3), configurables.adam(1e-3),
                  configurables.adam(1e-3), skip_nonfinite_steps=True,
                  run_eagerly=run_eagerly)
    model.build_optimizers()
    return tiny.poison_loss(model, step, player_loss)


def _state(model):
    """Every weight and optimizer variable except the step counters."""
    variables = list(model.embedder.weights) + list(model.classifier.weights)
    variables += list(model.generator.weights) + list(model.discriminator.weights)
    for optimizer in model.optimizers().values():
        variables += [v for v in optimizer.variables if v is not optimizer.iterations]
    return tiny.snapshot(variables)


def _iterations(model):
    return {name: int(o.iterations.numpy()) for name, o in model.optimizers().items()}


# Two of the four (reading, loss) pairs: each reading, and D's loss and F's (the first and
# the last update of a step).
@pytest.mark.parametrize("update_reading,player_loss", [("single_pass", "d_loss"),
                                                        ("sequential", "f_loss")])
def test_a_nan_step_moves_no_weight_or_slot_and_only_counts_the_step(update_reading,
                                                                     player_loss):
    model = _poisoned_model(2, player_loss, update_reading)
    logs = tiny.train_one_step(model, tiny.batch())  # Step 1: trains.
    assert float(logs["skipped_steps"]) == 0
    before, counters = _state(model), _iterations(model)
    logs = tiny.train_one_step(model, tiny.batch(seed=1))  # Step 2: NaN, skipped.
    after = _state(model)
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    assert _iterations(model) == {name: n + 1 for name, n in counters.items()}
    assert float(logs["skipped_steps"]) == 1
    # The loss means leave the skipped step out: still finite.
    assert all(np.isfinite(float(logs[name])) for name in ("d_loss", "g_loss", "f_loss"))
    tiny.train_one_step(model, tiny.batch(seed=2))  # Step 3: trains again.
    assert any(not np.array_equal(a, b) for a, b in zip(after, _state(model)))
    assert all(np.all(np.isfinite(v)) for v in _state(model))


def test_training_skips_the_bad_step_and_logs_the_count(tmp_path):
    """Through `experiment.train` in graph mode: no DivergenceError, one skip logged."""
    def dataset_fn(before_reading, **unused_kwargs):
        before_reading()
        return tf.data.Dataset.from_tensors(tiny.batch()).repeat()

    model, checkpointer = experiment.train(
        str(tmp_path / "run"), steps=4, steps_per_epoch=4, verbose=0,
        dataset_fn=dataset_fn,
        model_fn=lambda: _poisoned_model(3, "g_loss", run_eagerly=False))
    assert checkpointer.step == 4
    history = model.history.history
    assert history["skipped_steps"] == [1.0]
    assert np.isfinite(history["g_loss"][0])


def test_skipping_is_refused_on_several_replicas():
    """Replicas would have to agree on every skip: refused with what to do."""
    from gta_keras.data import pipeline  # pylint: disable=import-outside-toplevel

    class TwoReplicas:
        num_replicas_in_sync = 2

    original = tf.distribute.get_strategy
    tf.distribute.get_strategy = TwoReplicas
    try:
        with pytest.raises(pipeline.ConfigurationError, match="one replica only"):
            experiment.compile_model(tiny.model(), skip_nonfinite_steps=True)
    finally:
        tf.distribute.get_strategy = original
