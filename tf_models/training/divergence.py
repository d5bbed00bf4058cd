"""A training that diverges stops loudly, at the step it happened, in
`model.fit` (`tf_models.training.resume`) and in the loop of several
workers (`tf_models.training.multi_worker`) alike."""

import math


class TrainingDiverged(FloatingPointError):
    """Training reached a loss, or weights, that are not finite numbers."""

    def __init__(self, step, what, backup_dir, backed_up):
        kept = (f"backups stopped after step {backed_up} ({backup_dir})" if backed_up
                else "no backup was taken before it")
        super().__init__(
            f"training diverged at step {step}: {what}; {kept}. Lower the learning rate (--peak-learning-rate "
            "by 3x to 10x; for train-translation, a longer --warmup-steps) and start again with --restart.")
        self.step = step


def check_finite_loss(logs, step, state):
    """Raises `TrainingDiverged` if `logs["loss"]` is not a finite number."""
    loss = (logs or {}).get("loss")
    if loss is not None and not math.isfinite(float(loss)):
        raise TrainingDiverged(step, f"the loss is {float(loss)}", state.directory, state.saved_step)
