"""Which of a run's checkpoints is evaluated and exported: the last, or the best held out.

Adversarial training does not settle: the adapted segmenter's target mIoU swings by several
points between checkpoints a few hundred steps apart, while source-only training holds
still (README, "Why single runs disagree"). So the step a run stops at is a hyperparameter
like any other. "best" chooses it on held-out labelled data, as any other hyperparameter is
chosen: it scores every kept checkpoint on a labelled split that is not reported (the demo's
realistic/tuning) and keeps the highest. "last" keeps the newest, the paper's fixed budget.
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
    if rule == "last":
        checkpointer.restore(paths[-1])
        return {"rule": rule, "selected_step": checkpoints.step_of(paths[-1])}
    if score is None:
        raise ValueError("The 'best' rule needs a score function.")
    scores = {}
    for path in paths:
        checkpointer.restore(path)
        scores[checkpoints.step_of(path)] = float(score())
    best = max(scores, key=lambda step: (scores[step], step))
    checkpointer.restore(paths[list(scores).index(best)])
    return {"rule": rule, "selected_step": best, "scores": scores}
