"""Which of a run's checkpoints is evaluated and exported: the last, or the best held out.

Adversarial training does not settle: the adapted segmenter's target mIoU swings by several
points between checkpoints a few hundred steps apart, and source-only's peaks early and
then decays (README, "Why single runs disagree"). So the step a run stops at is a
hyperparameter. "best" chooses it as the others are chosen, on held-out labelled data: it
scores every kept checkpoint on a labelled split that is never reported (the demo's
realistic/tuning) and keeps the highest. "last" keeps the newest: the paper's fixed budget.
"""

from gta_keras import checkpoints

RULES = ("last", "best")


def select(checkpointer, rule="last", score=None):
    """Leaves the checkpoint that `rule` selects restored in the checkpointer's model.

    Args:
      checkpointer: a `checkpoints.Checkpointer` with at least one kept checkpoint.
      rule: "last" (the newest checkpoint) or "best" (the highest `score`; on a tie, the
        later step).
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
    if rule == "last":
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
