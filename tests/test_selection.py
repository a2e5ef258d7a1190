"""The checkpoint rule: the last kept checkpoint, or the best one on a held-out split;
label-free (the source's validation split) unless an oracle choice is allowed."""

import json

import gin
import numpy as np
import pytest

from gta_keras import checkpoints
from gta_keras import experiment
from gta_keras import predictors
from gta_keras import runs
from gta_keras import selection
from gta_keras.data import pipeline
from tests import tiny


def _run_with_checkpoints(tmp_path, num_steps=4):
    """A tiny model saved after each of `num_steps` steps; returns it, its checkpointer and
    a copy of F's weights at every step. Source-only: G and D would only slow it down."""
    model = tiny.model(method="source_only")
    checkpointer = checkpoints.Checkpointer(model, str(tmp_path), max_to_keep=None)
    weights = {}
    for step in range(1, num_steps + 1):
        tiny.train_one_step(model, tiny.batch(seed=step))
        checkpointer.save()
        weights[step] = tiny.snapshot(model.embedder.weights)
    return model, checkpointer, weights


def _assert_embedder_is(model, expected):
    for value, variable in zip(expected, model.embedder.weights):
        np.testing.assert_array_equal(value, variable.numpy())


def test_best_restores_the_highest_scoring_checkpoint(tmp_path):
    model, checkpointer, weights = _run_with_checkpoints(tmp_path)
    by_step = {1: 0.2, 2: 0.7, 3: 0.4, 4: 0.5}
    scored = []

    def score():
        scored.append(checkpointer.step)
        return by_step[checkpointer.step]

    result = selection.select(checkpointer, "best", score)
    assert scored == [1, 2, 3, 4]  # every kept checkpoint, oldest first
    assert result == {"rule": "best", "selected_step": 2, "scores": by_step}
    assert checkpointer.step == 2
    _assert_embedder_is(model, weights[2])


def test_best_prefers_the_later_step_on_a_tie(tmp_path):
    _, checkpointer, _ = _run_with_checkpoints(tmp_path, num_steps=3)
    result = selection.select(checkpointer, "best", lambda: 0.5)
    assert result["selected_step"] == 3


def test_last_restores_the_newest_checkpoint(tmp_path):
    model, checkpointer, weights = _run_with_checkpoints(tmp_path, num_steps=2)
    tiny.train_one_step(model, tiny.batch(seed=9))  # unsaved weights are not selected
    assert selection.select(checkpointer, "last") == {"rule": "last", "selected_step": 2}
    _assert_embedder_is(model, weights[2])


def test_a_restored_run_selects_among_all_its_kept_checkpoints(tmp_path):
    _, _, weights = _run_with_checkpoints(tmp_path, num_steps=5)
    fresh = tiny.model(method="source_only")
    # Keeping 3 matters only when saving: a run restored to be evaluated sees all 5.
    checkpointer = checkpoints.Checkpointer(fresh, str(tmp_path), max_to_keep=3)
    result = selection.select(checkpointer, "best", lambda: -abs(checkpointer.step - 1))
    assert result["selected_step"] == 1
    assert list(result["scores"]) == [1, 2, 3, 4, 5]
    _assert_embedder_is(fresh, weights[1])


def test_bad_rules_and_missing_checkpoints_are_clear_errors(tmp_path):
    _, checkpointer, _ = _run_with_checkpoints(tmp_path, num_steps=1)
    with pytest.raises(ValueError, match="Unknown checkpoint selection rule 'first'"):
        selection.select(checkpointer, "first")
    with pytest.raises(ValueError, match="needs a score"):
        selection.select(checkpointer, "best")
    empty = checkpoints.Checkpointer(tiny.model(method="source_only"),
                                     str(tmp_path / "empty"))
    with pytest.raises(checkpoints.CheckpointNotFoundError, match="Train first"):
        selection.select(empty, "last")


SOURCE = "procedural_streets/synthetic"
TARGET = "procedural_streets/realistic"


def _bind_domains(source=SOURCE, target=TARGET, track_best=None):
    bindings = [f"make_train_dataset.source = '{source}'",
                f"make_train_dataset.target = '{target}'"]
    if track_best:
        bindings.append(f"train.track_best = '{track_best}'")
    gin.parse_config(bindings)


def test_checkpoint_selection_settings_are_checked_before_any_work():
    _bind_domains()
    assert selection.checkpoint_selection() == {
        "rule": "last", "dataset": None, "batch_size": 1, "oracle": False,
        "allow_oracle": False, "source": SOURCE, "target": TARGET}
    assert selection.checkpoint_selection(
        "best", f"{SOURCE}:tuning", 50)["dataset"] == f"{SOURCE}:tuning"
    with pytest.raises(ValueError, match="must read 'name:split'"):
        selection.checkpoint_selection("best", SOURCE)
    with pytest.raises(ValueError, match="is not one of"):
        selection.checkpoint_selection("newest")


def test_best_scores_the_source_validation_split_by_default_label_free():
    _bind_domains()
    settings = selection.checkpoint_selection("best")
    assert settings["dataset"] == f"{SOURCE}:validation"
    assert settings["oracle"] is False
    assert selection.stamp(settings) == {
        "checkpoint_selection": f"best mIoU on {SOURCE}:validation",
        "selection_split": f"{SOURCE}:validation", "oracle": False}


def test_best_on_target_labels_is_refused_without_the_oracle_flag():
    _bind_domains()
    with pytest.raises(selection.OracleSelectionError) as error:
        selection.checkpoint_selection("best", f"{TARGET}:tuning")
    message = str(error.value)
    assert f"a labelled split of the target '{TARGET}'" in message  # what is wrong
    assert "leave checkpoint_selection.dataset unset" in message  # what to do
    assert f"'{SOURCE}:validation'" in message
    assert "checkpoint_selection.oracle = True" in message
    # A ConfigurationError: the command line prints it in one line, no traceback.
    assert isinstance(error.value, pipeline.ConfigurationError)


def test_an_allowed_oracle_choice_is_stamped():
    _bind_domains()
    settings = selection.checkpoint_selection("best", f"{TARGET}:tuning", oracle=True)
    assert settings["oracle"] is True
    assert selection.stamp(settings) == {
        "checkpoint_selection": f"best mIoU on {TARGET}:tuning",
        "selection_split": f"{TARGET}:tuning", "oracle": True}
    # The flag allows an oracle; it does not make a source split one.
    allowed = selection.checkpoint_selection("best", oracle=True)
    assert selection.stamp(allowed)["oracle"] is False


def test_which_splits_are_target_labelled():
    labelled = selection.is_target_labelled
    assert not labelled(f"{SOURCE}:validation", SOURCE, TARGET)
    assert not labelled(f"{SOURCE}:1.0.0:tuning", SOURCE, TARGET)  # a versioned name
    assert labelled(f"{TARGET}:validation", SOURCE, TARGET)
    assert labelled("cityscapes:validation", "gta5", "cityscapes/semantic_segmentation")
    assert labelled(f"{SOURCE}:validation", None, TARGET)  # the source is unknown
    assert labelled(f"{SOURCE}:validation", SOURCE, SOURCE)  # nothing is label-free
    with pytest.raises(selection.OracleSelectionError, match="not a split of the source"):
        selection.resolve("best", "camvid:validation", 1, False, SOURCE, TARGET)


def test_best_without_a_bound_source_is_a_clear_error():
    with pytest.raises(pipeline.ConfigurationError, match="make_train_dataset.source is not"):
        selection.checkpoint_selection("best")


def test_tracked_best_on_target_labels_needs_the_flag_too():
    _bind_domains(track_best=f"{TARGET}:tuning")
    with pytest.raises(selection.OracleSelectionError,
                       match=f"set train.track_best = '{SOURCE}:validation'"):
        selection.checkpoint_selection("tracked_best")
    assert selection.checkpoint_selection("tracked_best", oracle=True)["oracle"] is True
    gin.clear_config()
    _bind_domains(track_best=f"{SOURCE}:validation")
    assert selection.checkpoint_selection("tracked_best")["dataset"] == (
        f"{SOURCE}:validation")


def test_the_chosen_split_and_oracle_reach_checkpoint_selection_json_and_the_eval_json(
        tmp_path):
    model, checkpointer, _ = _run_with_checkpoints(tmp_path / "run", num_steps=2)
    workdir = tmp_path / "run"
    best = checkpointer.sibling(checkpoints.best_checkpoint_directory(str(workdir)))
    best.save()
    with open(runs.best_record_path(str(workdir)), "w") as f:  # tracked on target labels
        json.dump({"dataset": f"{TARGET}:tuning", "every_steps": 1,
                   "scores": {"2": 0.4}, "best_step": 2}, f)
    label_free = selection.resolve("tracked_best", f"{SOURCE}:validation", 1, False,
                                   SOURCE, TARGET)
    # The record says what training scored: a target split, not the settings' source one.
    with pytest.raises(selection.OracleSelectionError):
        experiment.select_checkpoint(model, checkpointer, str(workdir), label_free)
    allowed = dict(label_free, allow_oracle=True)
    stamp = experiment.select_checkpoint(model, checkpointer, str(workdir), allowed)
    assert stamp == {"checkpoint_selection": f"tracked best mIoU on {TARGET}:tuning",
                     "selection_split": f"{TARGET}:tuning", "oracle": True}
    with open(runs.selection_path(str(workdir))) as f:
        assert json.load(f)["oracle"] is True
    description = predictors.from_model(model, 2, stamp).description
    assert description["oracle"] is True
    assert description["selection_split"] == f"{TARGET}:tuning"
    last = experiment.select_checkpoint(
        model, checkpointer, str(workdir),
        selection.resolve("last", None, 1, False, SOURCE, TARGET))
    assert last == {"checkpoint_selection": "last", "selection_split": None, "oracle": False}
    assert predictors.from_model(model, 2).description["oracle"] is False


def test_track_best_keeps_the_best_weights_seen_during_training(tmp_path):
    model = tiny.model(method="source_only")
    checkpointer = checkpoints.Checkpointer(model, str(tmp_path / "checkpoints"))
    best = checkpointer.sibling(str(tmp_path / "best"))
    by_step = {2: 0.3, 4: 0.6, 6: 0.5}
    record = tmp_path / "best.json"
    tracker = selection.TrackBest(best, lambda: by_step[best.step], 2, "src:validation",
                                  str(record))
    weights = {}
    for step in range(1, 7):
        tiny.train_one_step(model, tiny.batch(seed=step))
        tracker.on_train_batch_end(step)
        weights[step] = tiny.snapshot(model.embedder.weights)
    saved = json.loads(record.read_text())
    assert saved["scores"] == {"2": 0.3, "4": 0.6, "6": 0.5}  # every 2 steps only
    assert saved["best_step"] == 4
    assert [checkpoints.step_of(p) for p in best.paths] == [4]

    result = selection.select(best, "tracked_best")
    assert result == {"rule": "tracked_best", "selected_step": 4}
    _assert_embedder_is(model, weights[4])

    # A resumed run keeps the best so far: a worse score later saves nothing.
    resumed = selection.TrackBest(best, lambda: 0.1, 2, "src:validation", str(record))
    assert resumed.record["best_step"] == 4


def test_tracked_best_without_tracking_is_a_clear_error(tmp_path):
    model, checkpointer, _ = _run_with_checkpoints(tmp_path / "run", num_steps=1)
    settings = selection.resolve("tracked_best", None, 1, False, SOURCE, TARGET)
    with pytest.raises(checkpoints.CheckpointNotFoundError, match="train.track_best"):
        experiment.select_checkpoint(model, checkpointer, str(tmp_path / "run"), settings)
