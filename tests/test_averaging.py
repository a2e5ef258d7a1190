"""`compile_model.segmenter_ema_decay`: the moving average of F and C's weights, its
update, checkpoint, skip, and what evaluation, selection and export score with it."""

import json
import os

import gin
import numpy as np
import pytest
import tensorflow as tf

from gta_keras import averaging
from gta_keras import checkpoints
from gta_keras import configurables
from gta_keras import experiment
from gta_keras import export
from gta_keras import predict
from gta_keras import predictors
from gta_keras import runs
from gta_keras import selection
from gta_keras.data import pipeline
from tests import tiny

DECAY = 0.9


@pytest.fixture(autouse=True)
def _clear_gin():
    gin.clear_config()
    yield
    gin.clear_config()


def _model(decay=DECAY, method="source_only", seed=0, **compile_kwargs):
    """A tiny model (source-only: G and D would only slow these tests down) compiled
    with `segmenter_ema_decay = decay`."""
    model = tiny.model(method=method, seed=seed)
    lsd = method == "lsd"
    model.compile(configurables.adam(1e-3), configurables.adam(1e-3) if lsd else None,
                  configurables.adam(1e-3) if lsd else None, run_eagerly=True,
                  segmenter_ema_decay=decay, **compile_kwargs)
    return model


def _segmenter(model):
    return tiny.snapshot(model.player_variables("segmenter"))


def _shadows(model):
    return tiny.snapshot(model.segmenter_average.shadows)


def _assert_equal(expected, actual):
    assert len(expected) == len(actual) > 0
    for a, b in zip(expected, actual):
        np.testing.assert_array_equal(a, b)


def test_the_update_follows_the_formula_over_three_steps():
    """s_0 = w_0; s_k = s_{k-1} - (1 - d_k) (s_{k-1} - w_k), d_k = min(d, k / (9 + k)):
    with d = 0.2 the first two steps are in the warm-up (0.1, 0.18), the third at d."""
    decay = 0.2
    model = _model(decay)
    weights = [_segmenter(model)]
    for step in range(3):
        tiny.train_one_step(model, tiny.batch(seed=step))
        weights.append(_segmenter(model))
    expected = [w.astype(np.float64) for w in weights[0]]
    rates = []
    for n in range(3):
        rate = min(decay, (1 + n) / (10 + n))
        rates.append(rate)
        expected = [s - (1 - rate) * (s - w) for s, w in zip(expected, weights[n + 1])]
    assert rates == [0.1, 2 / 11, 0.2]
    assert int(model.segmenter_average.updates.numpy()) == 3
    shadows = _shadows(model)
    for shadow, value in zip(shadows, expected):
        assert shadow.dtype == np.float32
        np.testing.assert_allclose(shadow, value, rtol=1e-6, atol=1e-7)
    # Not vacuous: the weights moved, and the average is neither the first nor the last.
    moved = [i for i, (a, b) in enumerate(zip(weights[0], weights[3]))
             if not np.array_equal(a, b)]
    assert len(moved) > 10
    for i in moved:
        assert not np.allclose(shadows[i], weights[3][i], rtol=0, atol=1e-9)
        assert not np.allclose(shadows[i], weights[0][i], rtol=0, atol=1e-9)


def test_off_by_default_and_on_train_the_same_bits():
    """Absent (the default), None through the gin-configured compile_model, and on: F, C,
    G, D and every optimizer slot are bit for bit the same after 3 steps; off, the model
    keeps no average and the checkpoint holds nothing new."""
    absent = tiny.model()  # Compiled without the option.
    adam = lambda: configurables.adam(1e-3)
    off = experiment.compile_model(tiny.model(), adam, adam, adam,
                                   segmenter_ema_decay=None)
    off.run_eagerly = True  # As tiny.model's.
    on = _model(method="lsd")
    for step in range(3):
        for model in (absent, off, on):
            tiny.train_one_step(model, tiny.batch(seed=step))
    for model in (absent, off):
        assert model.segmenter_average is None
    for model in (off, on):
        for part in ("embedder", "classifier", "generator", "discriminator"):
            _assert_equal(tiny.snapshot(getattr(absent, part).weights),
                          tiny.snapshot(getattr(model, part).weights))
        for name, optimizer in absent.optimizers().items():
            _assert_equal(tiny.snapshot(optimizer.variables),
                          tiny.snapshot(model.optimizers()[name].variables))
    assert int(on.segmenter_average.updates.numpy()) == 3


def _checkpoint_names(model, directory):
    saver = checkpoints.Checkpointer(model, str(directory))
    return {name for name, _ in tf.train.list_variables(saver.save())}


def test_only_a_run_with_an_average_checkpoints_it(tmp_path):
    off = _checkpoint_names(tiny.model(method="source_only"), tmp_path / "off")
    on = _checkpoint_names(_model(), tmp_path / "on")
    assert not [name for name in off if averaging.CHECKPOINT_KEY in name]
    added = sorted(on - off)
    assert len(added) == len(_model().segmenter_average.shadows) + 2  # + decay, updates
    assert all(name.startswith(averaging.CHECKPOINT_KEY + "/") for name in added)


def test_a_skipped_step_moves_no_shadow():
    """`skip_nonfinite_steps`: a NaN step (graph mode, as training) leaves every shadow
    and the update count; the next step moves them again."""
    model = tiny.model(method="source_only")
    model.compile(configurables.adam(1e-3), skip_nonfinite_steps=True,
                  segmenter_ema_decay=DECAY)  # Graph mode, as training.
    tiny.poison_loss(model, 2, "f_loss")
    tiny.train_one_step(model, tiny.batch())  # Step 1: trains.
    before = _shadows(model)
    logs = tiny.train_one_step(model, tiny.batch(seed=1))  # Step 2: NaN, skipped.
    assert float(logs["skipped_steps"]) == 1
    _assert_equal(before, _shadows(model))
    assert int(model.segmenter_average.updates.numpy()) == 1
    tiny.train_one_step(model, tiny.batch(seed=2))  # Step 3: trains again.
    assert int(model.segmenter_average.updates.numpy()) == 2
    assert any(not np.array_equal(a, b) for a, b in zip(before, _shadows(model)))
    assert all(np.all(np.isfinite(s)) for s in _shadows(model))


def test_a_resumed_run_keeps_its_average_exactly(tmp_path):
    """2 steps, save, restore into a model of other initial weights, 1 step == 3 steps:
    shadows and update count bit for bit."""
    straight = _model()
    for step in range(3):
        tiny.train_one_step(straight, tiny.batch(seed=step))
    interrupted = _model()
    for step in range(2):
        tiny.train_one_step(interrupted, tiny.batch(seed=step))
    checkpoints.Checkpointer(interrupted, str(tmp_path)).save()
    resumed = _model(seed=123)
    checkpoints.Checkpointer(resumed, str(tmp_path)).restore_latest(require=True)
    _assert_equal(_shadows(interrupted), _shadows(resumed))
    tiny.train_one_step(resumed, tiny.batch(seed=2))
    _assert_equal(_shadows(straight), _shadows(resumed))
    _assert_equal(_segmenter(straight), _segmenter(resumed))
    assert int(resumed.segmenter_average.updates.numpy()) == 3


def _saved(model, directory):
    tiny.train_one_step(model, tiny.batch())
    checkpoints.Checkpointer(model, str(directory)).save()
    return model


def test_a_checkpoint_without_an_average_restores_without_one(tmp_path):
    """Old runs keep working: nothing about them changed."""
    model = _saved(tiny.model(method="source_only"), tmp_path)
    fresh = tiny.model(method="source_only", seed=5)
    checkpoints.Checkpointer(fresh, str(tmp_path)).restore_latest(require=True)
    _assert_equal(_segmenter(model), _segmenter(fresh))


def test_a_checkpoint_and_a_model_that_disagree_on_the_average_are_refused(tmp_path):
    _saved(tiny.model(method="source_only"), tmp_path / "without")
    _saved(_model(), tmp_path / "with")
    cases = [
        (_model(), "without", "holds no moving average of F and C"),
        (tiny.model(method="source_only"), "with",
         "segmenter_ema_decay = 0.9, which this configuration does not set"),
        (_model(0.99), "with", "segmenter_ema_decay = 0.9, not 0.99"),
    ]
    for model, folder, message in cases:
        with pytest.raises(checkpoints.CheckpointMismatchError, match=message) as raised:
            checkpoints.Checkpointer(model, str(tmp_path / folder)).restore_latest()
        assert "operative_config.gin" in str(raised.value)


def test_an_average_checkpoint_into_a_model_without_one_names_the_fix(tmp_path):
    _saved(_model(), tmp_path)
    with pytest.raises(checkpoints.CheckpointMismatchError,
                       match="set it and bind evaluate.weights = 'raw'"):
        checkpoints.Checkpointer(tiny.model(method="source_only"),
                                 str(tmp_path)).restore_latest()


def test_a_warm_start_restarts_the_average_from_the_weights_read(tmp_path):
    source = _saved(tiny.model(method="source_only"), tmp_path)
    model = _model(seed=7)
    tiny.train_one_step(model, tiny.batch(seed=3))
    checkpoints.warm_start(model, str(tmp_path))
    _assert_equal(_segmenter(source), _shadows(model))
    assert int(model.segmenter_average.updates.numpy()) == 0


def _trained(steps=2):
    model = _model()
    for step in range(steps):
        tiny.train_one_step(model, tiny.batch(seed=step))
    return model


def test_swapping_in_exchanges_weights_and_shadows_and_back_bit_for_bit(tmp_path):
    model = _trained()
    raw, shadows = _segmenter(model), _shadows(model)
    checkpointer = checkpoints.Checkpointer(model, str(tmp_path))
    with averaging.weights_in(model, "ema"):
        _assert_equal(shadows, _segmenter(model))
        with pytest.raises(RuntimeError, match="already swapped in"):
            with averaging.weights_in(model, "ema"):
                pass
        with pytest.raises(RuntimeError, match="Cannot save"):
            checkpointer.save()
    _assert_equal(raw, _segmenter(model))
    _assert_equal(shadows, _shadows(model))
    with averaging.weights_in(model, "raw"):
        _assert_equal(raw, _segmenter(model))


def test_which_weights_are_scored():
    assert averaging.resolve(None, None) == "raw"
    assert averaging.resolve(None, 0.99) == "ema"
    assert averaging.resolve("raw", 0.99) == "raw"
    with pytest.raises(ValueError, match="which this run does not keep"):
        averaging.resolve("ema", None)
    with pytest.raises(ValueError, match="is not one of"):
        averaging.resolve("average", 0.99)
    for decay in (0, 1, 1.5, -0.1, True, "0.9"):
        with pytest.raises(ValueError, match="must be None"):
            averaging.check_decay(decay)


@pytest.mark.parametrize("bindings,message", [
    ({"compile_model.segmenter_ema_decay": 1.0}, "between 0 and 1"),
    ({"evaluate.weights": "ema"}, "evaluate.weights = 'ema' names the moving average"),
    ({"export.weights": "ema"}, "export.weights = 'ema' names the moving average"),
    ({"compile_model.segmenter_ema_decay": 0.99, "evaluate.weights": "best"},
     "evaluate.weights = 'best' is not one of"),
])
def test_bad_settings_fail_before_any_work(tmp_path, bindings, message):
    for parameter, value in bindings.items():
        gin.bind_parameter(parameter, value)
    with pytest.raises(pipeline.ConfigurationError, match=message):
        experiment.run(str(tmp_path / "run"), "train")
    assert not (tmp_path / "run").exists()


class _FakeScoring:
    """Stands in for `experiment.score_split` and `check_splits`: records F and C's
    weights at each scoring, and a score of them."""

    def __init__(self, monkeypatch, model):
        self.model = model
        self.seen = []
        monkeypatch.setattr(experiment, "score_split", self.score_split)
        monkeypatch.setattr(experiment, "check_splits", lambda *args, **kwargs: None)

    def score_split(self, predict_classes, num_classes, name, split, *args, **kwargs):
        del predict_classes, num_classes, args, kwargs
        self.seen.append(_segmenter(self.model))
        return {"dataset": name, "split": split, "num_images": 1, "per_class_iou": {},
                "miou": float(np.sum(self.seen[-1][0]))}


@pytest.mark.parametrize("weights", [None, "ema", "raw"])
def test_evaluate_scores_the_average_by_default_and_says_which(tmp_path, monkeypatch,
                                                               weights):
    model = _trained()
    raw, shadows = _segmenter(model), _shadows(model)
    fake = _FakeScoring(monkeypatch, model)
    spec = "src:validation"
    experiment.evaluate(predictors.from_model(model, 2), str(tmp_path), datasets=[spec],
                        weights=weights)
    _assert_equal(raw if weights == "raw" else shadows, fake.seen[0])
    _assert_equal(raw, _segmenter(model))  # Back to the training weights.
    with open(runs.eval_path(str(tmp_path), spec)) as f:
        written = json.load(f)
    assert written["weights"] == (weights or "ema")
    assert written["segmenter_ema_decay"] == DECAY


def test_evaluate_of_a_run_without_an_average_says_raw(tmp_path, monkeypatch):
    model = tiny.model(method="source_only")
    _FakeScoring(monkeypatch, model)
    result = experiment.evaluate(predictors.from_model(model, 0), str(tmp_path),
                                 datasets=["src:validation"])
    assert result["src:validation"]["weights"] == "raw"
    assert result["src:validation"]["segmenter_ema_decay"] is None


def test_the_best_rule_and_the_tracker_score_each_checkpoints_average(tmp_path,
                                                                      monkeypatch):
    model = _model()
    workdir = tmp_path / "run"
    checkpointer = checkpoints.Checkpointer(
        model, checkpoints.checkpoint_directory(str(workdir)), max_to_keep=None)
    shadows = {}
    for step in (1, 2):
        tiny.train_one_step(model, tiny.batch(seed=step))
        checkpointer.save()
        shadows[step] = _shadows(model)
    fake = _FakeScoring(monkeypatch, model)
    settings = selection.resolve("best", "src:validation", 1, False, "src", "tgt")
    experiment.select_checkpoint(model, checkpointer, str(workdir), settings)
    _assert_equal(shadows[1], fake.seen[0])
    _assert_equal(shadows[2], fake.seen[1])
    with open(runs.selection_path(str(workdir))) as f:
        assert json.load(f)["weights"] == "ema"
    experiment.select_checkpoint(model, checkpointer, str(workdir), settings,
                                 weights="raw")
    assert not np.array_equal(fake.seen[-1][0], shadows[2][0])
    # During training: train.track_best's scores.
    tracker = experiment._best_tracker(model, checkpointer, str(workdir), "src:validation",
                                       1, 1, None, None)
    tracker.score()
    _assert_equal(_shadows(model), fake.seen[-1])


def test_the_export_serves_the_average(tmp_path):
    """The SavedModel answers as a model holding the shadows, not the training weights."""
    model = _trained(steps=3)
    model.eval_size = tiny.IMAGE_SIZE
    raw = _segmenter(model)
    checkpointer = checkpoints.Checkpointer(model, str(tmp_path / "checkpoints"))
    path = experiment.export(model, checkpointer, str(tmp_path))
    _assert_equal(raw, _segmenter(model))
    holding_shadows = tiny.model(method="source_only", seed=9)
    holding_shadows.eval_size = tiny.IMAGE_SIZE
    for variable, shadow in zip(holding_shadows.player_variables("segmenter"),
                                _shadows(model)):
        variable.assign(shadow)
    images = np.random.default_rng(0).integers(0, 256, (2,) + tiny.IMAGE_SIZE + (3,))
    served = tf.saved_model.load(path).signatures["serving_default"](
        images=tf.constant(images, tf.uint8))["probabilities"]
    expected = tf.nn.softmax(holding_shadows.predict_logits(
        tf.constant(images, tf.float32), tiny.IMAGE_SIZE))
    np.testing.assert_allclose(served, expected, atol=1e-6)
    trained = tf.nn.softmax(model.predict_logits(tf.constant(images, tf.float32),
                                                 tiny.IMAGE_SIZE))
    assert np.max(np.abs(served - trained)) > 1e-4  # The raw weights answer otherwise.
    with open(os.path.join(path, export.RECORD_PATH)) as f:
        assert json.load(f) == {"step": 3, "weights": "ema", "segmenter_ema_decay": DECAY,
                                "serving_size": list(tiny.IMAGE_SIZE),
                                "upsampling": model.upsampling}
    # `gta_keras.predict --saved_model` says so before predicting.
    assert predict._export_weights_text(path) == (
        ", step 3, the moving average of F and C's weights")


@pytest.mark.parametrize("weights", [None, "raw"])
def test_predict_from_a_workdir_scores_what_evaluate_scores(tmp_path, monkeypatch, weights):
    """`gta_keras.predict --workdir` predicts with the average by default, as evaluate and
    export do, with the training weights for evaluate.weights = 'raw', and leaves the
    training weights in place after."""
    model = _trained(steps=3)
    # C's shadows random: three tiny steps leave the average's classes the weights'.
    rng = np.random.default_rng(1)
    classifier = {variable.path for variable in model.classifier.trainable_variables}
    for variable, shadow in zip(model.player_variables("segmenter"),
                                model.segmenter_average.shadows, strict=True):
        if variable.path in classifier:
            shadow.assign(rng.normal(0, 1, shadow.shape).astype("float32"))
    raw = _segmenter(model)
    checkpointer = checkpoints.Checkpointer(model, str(tmp_path / "checkpoints"))
    monkeypatch.setattr(experiment, "restore", lambda workdir: (model, checkpointer))
    if weights:
        gin.bind_parameter("evaluate.weights", weights)
    images = np.random.default_rng(0).integers(0, 256, (2,) + tiny.IMAGE_SIZE + (3,))
    with predict.load_predictor(workdir=str(tmp_path)) as classes_fn:
        predicted = classes_fn(images.astype(np.uint8))
    _assert_equal(raw, _segmenter(model))
    with averaging.weights_in(model, weights or "ema"):
        expected = model.predict_classes(tf.constant(images, tf.float32), tiny.IMAGE_SIZE)
    np.testing.assert_array_equal(predicted, expected)
    with averaging.weights_in(model, "raw" if weights is None else "ema"):
        other = model.predict_classes(tf.constant(images, tf.float32), tiny.IMAGE_SIZE)
    assert np.any(predicted != other.numpy())  # The other weights answer otherwise.

