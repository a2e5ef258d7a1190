"""Which of a run's checkpoints is evaluated and exported: the last, or the best held out.

Adversarial training does not settle: the adapted segmenter's target mIoU swings by several
points between checkpoints a few hundred steps apart, and source-only's peaks early and
then decays (docs/experiments/2026-11-27-run-to-run-variance.md). So the step a run stops
at is a hyperparameter. "best" chooses it as the others are chosen, on held-out labelled
data: it scores every kept checkpoint on a labelled split that is never reported (the
demo's realistic/tuning) and keeps the highest. "last" keeps the newest: the paper's fixed
budget. "tracked_best" is the reference code's `model_best`: during training, every few
hundred steps, the model is scored on the source's validation split and the best weights
so far are kept (`TrackBest`).
"""

import json
import os

import gin
import keras

from gta_keras import checkpoints
from gta_keras import runs

RULES = ("last", "best", "tracked_best")


@gin.configurable
def checkpoint_selection(rule="last", dataset=None, batch_size=1):
    """The rule that picks the checkpoint to evaluate and export.

    Args:
      rule: "last" (the newest checkpoint), "best" (the highest mIoU on `dataset` among
        the kept checkpoints; `train.checkpoints_to_keep` says how many are kept) or
        "tracked_best" (the best checkpoint `train.track_best` kept during training, as
        the reference code's `model_best`).
      dataset: for "best", a labelled "name:split" that is never reported, e.g.
        "procedural_streets/realistic:tuning".
      batch_size: images per batch when scoring `dataset`.

    Returns:
      The checked settings as a dict: "rule", "dataset", "batch_size".

    Raises:
      ValueError: for an unknown rule, or "best" without a dataset.
    """
    if rule not in RULES:
        raise ValueError(f"checkpoint_selection.rule = {rule!r} is not one of {RULES}.")
    if rule == "best":
        if not dataset:
            raise ValueError(
                "checkpoint_selection.rule = 'best' needs checkpoint_selection.dataset: a "
                "labelled 'name:split' that is not reported, e.g. "
                "'procedural_streets/realistic:tuning'.")
        runs.parse_dataset_spec(dataset)
    return {"rule": rule, "dataset": dataset if rule == "best" else None,
            "batch_size": batch_size}


def select(checkpointer, rule="last", score=None):
    """Leaves the checkpoint that `rule` selects restored in the checkpointer's model.

    Args:
      checkpointer: a `checkpoints.Checkpointer` with at least one kept checkpoint; for
        "tracked_best", the one of the best checkpoint's folder.
      rule: "last" (the newest checkpoint), "best" (the highest `score`; on a tie, the
        later step) or "tracked_best" (the one checkpoint `TrackBest` kept).
      score: for "best", a function of no arguments that scores the weights currently in
        the model (higher is better), e.g. mIoU on a held-out split.

    Returns:
      A dict: "rule", "selected_step" and, for "best", "scores" (step -> score, oldest
      first).

    Raises:
      ValueError: for an unknown rule, or "best" without `score`.
      checkpoints.CheckpointNotFoundError: when no checkpoint is kept.
    """
    if rule not in RULES:
        raise ValueError(f"Unknown checkpoint selection rule {rule!r}; use one of {RULES}.")
    paths = checkpointer.paths
    if not paths:
        raise checkpoints.CheckpointNotFoundError(
            f"No checkpoint in {checkpointer.manager.directory} to select from. Train first "
            "(--mode=train) or point --workdir at a trained run.")
    path_of = {checkpoints.step_of(path): path for path in paths}
    # "tracked_best": the checkpointer is the best checkpoint's own (`TrackBest`), which
    # keeps one checkpoint: its newest.
    if rule in ("last", "tracked_best"):
        last = max(path_of)
        # Right after training or restoring, the model already holds it: no second read.
        if checkpointer.step != last:
            checkpointer.restore(path_of[last])
        return {"rule": rule, "selected_step": last}
    if score is None:
        raise ValueError("The 'best' rule needs a score function.")
    scores = {}
    for step, path in path_of.items():
        checkpointer.restore(path)
        scores[step] = float(score())
    best = max(scores, key=lambda step: (scores[step], step))
    checkpointer.restore(path_of[best])
    return {"rule": rule, "selected_step": best, "scores": scores}


class TrackBest(keras.callbacks.Callback):
    """Keeps the best checkpoint seen during training, scored every `every_steps` steps.

    The reference code's `model_best`: scored on the source's validation split every 500
    iterations. The record (`record_path`, JSON) holds every score, so a resumed run keeps
    its best so far.

    Args:
      best_checkpointer: a `Checkpointer` of the best checkpoint's folder
        (`Checkpointer.sibling`).
      score: a function of no arguments scoring the model's current weights (mIoU).
      every_steps: steps between scores.
      dataset: the scored "name:split", for the record.
      record_path: the JSON file of scores.
    """

    def __init__(self, best_checkpointer, score, every_steps, dataset, record_path):
        super().__init__()
        if every_steps < 1:
            raise ValueError(f"train.track_best_every = {every_steps} must be at least 1.")
        self.best_checkpointer = best_checkpointer
        self.score = score
        self.every_steps = every_steps
        self.record_path = record_path
        self.record = {"dataset": dataset, "every_steps": every_steps, "scores": {},
                       "best_step": None}
        if os.path.exists(record_path):
            with open(record_path) as f:
                self.record = json.load(f)

    def on_train_batch_end(self, batch, logs=None):
        step = self.best_checkpointer.step
        if step % self.every_steps:
            return
        value = float(self.score())
        scores = self.record["scores"]
        best = self.record["best_step"]
        scores[str(step)] = value
        if best is None or value > scores[str(best)]:
            self.best_checkpointer.save()
            self.record["best_step"] = step
        with open(self.record_path, "w") as f:
            json.dump(self.record, f, indent=2)
