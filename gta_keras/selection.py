"""Which of a run's checkpoints is evaluated and exported: the last, or the best held out.

Adversarial training does not settle: the adapted segmenter's target mIoU swings by several
points between checkpoints a few hundred steps apart, and source-only's peaks early and
then decays (docs/experiments/2026-11-27-run-to-run-variance.md). So the step a run stops
at is a hyperparameter. "last" keeps the newest: the paper's fixed budget. "best" scores
every kept checkpoint on a labelled split and keeps the highest; "tracked_best" is the
reference code's `model_best`: during training, every few hundred steps, the model is
scored on a labelled split and the best weights so far are kept (`TrackBest`).

Label-free with respect to the target. Unsupervised adaptation may read the source's
labels but not the target's, and choosing a checkpoint is training. So "best" scores, by
default, the SOURCE's validation split (`make_train_dataset.source`, split "validation"),
as the authors' code chooses `model_best` on SYNTHIA's validation frames. A split of the
target (`make_train_dataset.target`), or of any dataset other than the source, has target
labels (or labels the method was not given): choosing on it is an oracle. It is refused
unless `checkpoint_selection.oracle = True`, and every eval JSON of such a run says
`"oracle": true` with the split (`stamp`). The source-validation mIoU of a run chosen on
that split is then the selection's own score, optimistic; the target's numbers are not.
"""

import json
import os

import gin
import keras

from gta_keras import checkpoints
from gta_keras import runs
from gta_keras.data import pipeline

RULES = ("last", "best", "tracked_best")
# The split of the source "best" scores by default: the authors' `model_best` split.
SOURCE_SELECTION_SPLIT = "validation"


class OracleSelectionError(pipeline.ConfigurationError):
    """A checkpoint would be chosen on target labels without `checkpoint_selection.oracle`."""


@gin.configurable
def checkpoint_selection(rule="last", dataset=None, batch_size=1, oracle=False):
    """The rule that picks the checkpoint to evaluate and export, checked before any work.

    The run's source and target are read from gin (`make_train_dataset.source` and
    `.target`), so that the split a checkpoint is chosen on can be told label-free (the
    source's) or not (`resolve`).

    Args:
      rule: "last" (the newest checkpoint), "best" (the highest mIoU on `dataset` among
        the kept checkpoints; `train.checkpoints_to_keep` says how many are kept) or
        "tracked_best" (the best checkpoint `train.track_best` kept during training, as
        the reference code's `model_best`).
      dataset: for "best", the labelled "name:split" the checkpoints are scored on; None
        for the source's validation split, label-free with respect to the target. A
        split of another dataset (the target's tuning split, say) needs `oracle`.
      batch_size: images per batch when scoring `dataset`.
      oracle: allow choosing on target labels ("best" on a split that is not the
        source's, or "tracked_best" with such a `train.track_best`). The eval JSONs then
        say `"oracle": true`. Off by default: the choice is then label-free.

    Returns:
      `resolve`'s dict.

    Raises:
      ValueError: for an unknown rule or a malformed `dataset`.
      pipeline.ConfigurationError: for "best" without a dataset when the source is not
        bound.
      OracleSelectionError: for a target-labelled split without `oracle`.
    """
    source, target = run_domains()
    if rule == "tracked_best":  # The split training scores is train.track_best's.
        dataset = _bound("train.track_best")
    return resolve(rule, dataset, batch_size, oracle, source, target)


def resolve(rule, dataset, batch_size, oracle, source, target):
    """`checkpoint_selection`'s checks and defaults, for a run of `source` -> `target`.

    Args:
      rule: a rule of `RULES`.
      dataset: the "name:split" the rule scores ("best", "tracked_best"); None for
        "best" means the source's validation split, for "tracked_best" no tracking.
      batch_size: images per batch when scoring.
      oracle: whether a target-labelled split is allowed.
      source: the run's labelled source (TFDS name), or None when unknown.
      target: the run's target (TFDS name), or None when unknown.

    Returns:
      A dict: "rule", "dataset" (None for "last"), "batch_size", "oracle" (whether the
      split is target-labelled, which `oracle` then allowed), "allow_oracle" (`oracle`),
      "source" and "target".

    Raises:
      See `checkpoint_selection`.
    """
    if rule not in RULES:
        raise ValueError(f"checkpoint_selection.rule = {rule!r} is not one of {RULES}.")
    if rule == "last":
        dataset = None
    elif rule == "best" and not dataset:
        if not source:
            raise pipeline.ConfigurationError(
                "checkpoint_selection.rule = 'best' scores the source's validation split, "
                "but make_train_dataset.source is not bound. Bind it, or name the split in "
                "checkpoint_selection.dataset.")
        dataset = f"{source}:{SOURCE_SELECTION_SPLIT}"
    target_labelled = False
    if dataset:
        runs.parse_dataset_spec(dataset)
        target_labelled = is_target_labelled(dataset, source, target)
        if target_labelled and not oracle:
            raise OracleSelectionError(oracle_refusal(rule, dataset, source, target))
    return {"rule": rule, "dataset": dataset, "batch_size": batch_size,
            "oracle": target_labelled, "allow_oracle": bool(oracle), "source": source,
            "target": target}


def is_target_labelled(spec, source, target):
    """Whether choosing on "name:split" `spec` reads labels other than the source's.

    Only a split of the source is label-free with respect to the target; a split of the
    target, of a third dataset, or of any dataset when the source is unknown is not.
    A source that is the target (a run that adapts nothing) has no label-free split.
    """
    name = _base_name(runs.parse_dataset_spec(spec)[0])
    if target and name == _base_name(target):
        return True
    return not source or name != _base_name(source)


def oracle_refusal(rule, spec, source, target):
    """The message that refuses an oracle choice: what is wrong, and what to do."""
    name = _base_name(runs.parse_dataset_spec(spec)[0])
    if target and name == _base_name(target):
        what = f"a labelled split of the target {target!r}"
    elif source:
        what = f"not a split of the source {source!r}"
    else:
        what = "not known to be the source's (make_train_dataset.source is not bound)"
    label_free = (f"'{source}:{SOURCE_SELECTION_SPLIT}'" if source
                  else "the source's validation split")
    if rule == "best":
        fix = f"leave checkpoint_selection.dataset unset to choose on {label_free}"
    else:
        fix = f"set train.track_best = {label_free}"
    return (f"checkpoint_selection.rule = {rule!r} would choose the checkpoint by mIoU on "
            f"{spec!r}, {what}: target labels would pick the model, and unsupervised "
            f"adaptation has none. To choose label-free, {fix}, as the authors' code "
            "does; to allow the oracle choice, set checkpoint_selection.oracle = True "
            "(its eval JSONs then say \"oracle\": true).")


def stamp(settings, dataset=None):
    """What the eval JSON says of how its checkpoint was chosen.

    Args:
      settings: `resolve`'s dict.
      dataset: the split actually scored, when it is not `settings["dataset"]` (the
        "tracked_best" record's).

    Returns:
      {"checkpoint_selection": "last" | "best mIoU on <split>" | "tracked best mIoU on
      <split>", "selection_split": the split or None, "oracle": whether it is
      target-labelled}.

    Raises:
      OracleSelectionError: `dataset` is target-labelled and the settings do not allow it.
    """
    dataset = dataset or settings["dataset"]
    if settings["rule"] == "last" or not dataset:
        return {"checkpoint_selection": "last", "selection_split": None, "oracle": False}
    oracle = is_target_labelled(dataset, settings["source"], settings["target"])
    if oracle and not settings["allow_oracle"]:
        raise OracleSelectionError(oracle_refusal(settings["rule"], dataset,
                                                  settings["source"], settings["target"]))
    prefix = "best" if settings["rule"] == "best" else "tracked best"
    return {"checkpoint_selection": f"{prefix} mIoU on {dataset}",
            "selection_split": dataset, "oracle": oracle}


def run_domains():
    """(source, target) TFDS names that gin binds for `make_train_dataset`; None if not."""
    return (_bound("make_train_dataset.source"), _bound("make_train_dataset.target"))


def _bound(parameter):
    """The value gin binds to "function.parameter", or None."""
    try:
        return gin.query_parameter(parameter)
    except ValueError:
        return None


def _base_name(name):
    """A TFDS name without its version ("synthia:1.0.0" -> "synthia")."""
    return str(name).split(":")[0]


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
