"""The checkpoint rule: the last kept checkpoint, or the best one on a held-out split."""

import json

import numpy as np
import pytest

from gta_keras import checkpoints
from gta_keras import experiment
from gta_keras import selection
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


def test_checkpoint_selection_settings_are_checked_before_any_work():
    assert selection.checkpoint_selection() == {
        "rule": "last", "dataset": None, "batch_size": 1}
    assert selection.checkpoint_selection(
        "best", "procedural_streets/realistic:tuning", 50)["dataset"] == (
            "procedural_streets/realistic:tuning")
    with pytest.raises(ValueError, match="needs checkpoint_selection.dataset"):
        selection.checkpoint_selection("best")
    with pytest.raises(ValueError, match="must read 'name:split'"):
        selection.checkpoint_selection("best", "procedural_streets/realistic")
    with pytest.raises(ValueError, match="is not one of"):
        selection.checkpoint_selection("newest")


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
    settings = selection.checkpoint_selection("tracked_best")
    with pytest.raises(checkpoints.CheckpointNotFoundError, match="train.track_best"):
        experiment.select_checkpoint(model, checkpointer, str(tmp_path / "run"), settings)
