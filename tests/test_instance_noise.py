"""Instance noise on D's inputs (`build_model.d_input_noise`): its schedule, where it
acts, its errors, and that a resumed run draws the noise the uninterrupted one would."""

import numpy as np
import pytest

from gta_keras import checkpoints
from gta_keras import errors
from gta_keras.models import instance_noise
from tests import tiny


def test_scale_falls_linearly_to_zero_and_stays_there():
    noise = instance_noise.InstanceNoise(0.2, steps=10, seed=1)
    scales = [float(noise.scale(step)) for step in (0, 5, 9, 10, 50)]
    np.testing.assert_allclose(scales, [0.2, 0.1, 0.02, 0.0, 0.0], atol=1e-7)
    constant = instance_noise.InstanceNoise(0.2, steps=0, seed=1)
    assert float(constant.scale(10_000)) == pytest.approx(0.2)


def test_noise_has_the_scale_and_changes_with_every_call():
    noise = instance_noise.InstanceNoise(0.5, seed=3)
    images = np.full((4, 32, 64, 3), 0.5, np.float32)
    first, second = noise(images, 0).numpy(), noise(images, 0).numpy()
    assert np.std(first - images) == pytest.approx(0.5, rel=0.05)
    assert abs(np.mean(first - images)) < 0.02
    assert not np.array_equal(first, second)


@pytest.mark.parametrize("stddev, steps, match", [
    (-0.1, 0, r"build_model.d_input_noise = -0.1: must be >= 0"),
    (float("nan"), 0, r"build_model.d_input_noise = nan: must be >= 0"),
    (0.1, -5, r"build_model.d_input_noise_steps = -5: must be a whole number >= 0"),
    (0.1, 2.5, r"build_model.d_input_noise_steps = 2.5: must be a whole number >= 0"),
])
def test_bad_settings_name_their_binding(stddev, steps, match):
    with pytest.raises(errors.ConfigurationError, match=match):
        tiny.model(d_input_noise=stddev, d_input_noise_steps=steps)


def test_feature_d_refuses_it():
    with pytest.raises(errors.ConfigurationError, match="Leave it 0 for 'feature_d'"):
        tiny.model(method="feature_d", d_input_noise=0.1)


def test_off_by_default_adds_no_random_state():
    model = tiny.model()
    assert model.d_input_noise is None
    noisy = tiny.model(d_input_noise=0.1)
    assert len(checkpoints.seed_states(noisy)) == len(checkpoints.seed_states(model)) + 1


def test_noise_moves_d_s_judgement_in_training_until_it_fades():
    """Same weights, dropout streams and batch with and without the option: evaluation
    never sees noise; in training, every term that reads D moves while F's segmentation
    loss does not; from the step where the noise reaches 0 the losses are the plain ones,
    to the bit."""
    batch = tiny.batch()
    plain, noisy = tiny.model(), tiny.model(d_input_noise=0.3, d_input_noise_steps=4)
    for model in (plain, noisy):
        model.build_optimizers()

    evaluated = [m.compute_losses(*batch, training=False) for m in (plain, noisy)]
    for name in evaluated[0]:
        np.testing.assert_array_equal(evaluated[1][name], evaluated[0][name], name)

    early = [m.compute_losses(*batch) for m in (plain, noisy)]
    np.testing.assert_array_equal(early[1]["seg_loss"], early[0]["seg_loss"])
    for name in ("d_loss", "g_loss", "f_loss"):
        assert abs(float(early[1][name]) - float(early[0][name])) > 1e-3, name

    for model in (plain, noisy):
        model.f_optimizer.iterations.assign(4)
    late = [m.compute_losses(*batch) for m in (plain, noisy)]
    for name in late[0]:
        np.testing.assert_array_equal(late[1][name], late[0][name], name)


def _noisy_model(seed):
    return tiny.model(seed=seed, d_input_noise=0.3, d_input_noise_steps=0)


def test_a_resumed_run_draws_the_noise_of_the_uninterrupted_one(tmp_path):
    """Two steps, a checkpoint, then a third step in a model of other seeds restored
    from it: the same losses as the uninterrupted third step, and other losses without
    the noise's saved state (so the noise is part of what the check compares)."""
    straight = _noisy_model(0)
    for step in range(2):
        tiny.train_one_step(straight, tiny.batch(seed=step))
    checkpoints.Checkpointer(straight, str(tmp_path)).save()
    expected = tiny.train_one_step(straight, tiny.batch(seed=2))

    resumed = _noisy_model(123)
    checkpoints.Checkpointer(resumed, str(tmp_path)).restore_latest(require=True)
    assert tiny.train_one_step(resumed, tiny.batch(seed=2)) == expected

    other_noise = _noisy_model(123)
    checkpoints.Checkpointer(other_noise, str(tmp_path)).restore_latest(require=True)
    other_noise.d_input_noise.seeds.state.assign([7, 0])
    assert tiny.train_one_step(other_noise, tiny.batch(seed=2))["d_loss"] != expected["d_loss"]
