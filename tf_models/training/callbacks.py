"""The callbacks a real training run needs, in one place."""

from pathlib import Path

import keras


def training_callbacks(
    output_dir,
    monitor="val_loss",
    mode="min",
    backup_every_steps="epoch",
    tensorboard=True,
):
    """Progress, logs, checkpoints and fault tolerance for `model.fit`.

    Keras adds its own progress bar. This returns, writing under `output_dir`:

    * `TerminateOnNaN`: stop at once when the loss becomes NaN;
    * `BackupAndRestore` (`backup/`): a run killed at any point and started
      again with the same command resumes from the last backup;
    * `ModelCheckpoint` (`best.keras`): the best model by `monitor`;
    * `CSVLogger` (`history.csv`): one line of metrics per epoch;
    * `TensorBoard` (`logs/`): curves for `tensorboard --logdir`.

    Args:
        output_dir: the run's directory.
        monitor: metric that decides the best model (`"loss"` when there is no
            validation data).
        mode: `"min"` or `"max"` for `monitor`.
        backup_every_steps: `"epoch"` or a number of steps between backups.
        tensorboard: whether to write TensorBoard logs.

    Example:
    >>> import tempfile
    >>> [type(c).__name__ for c in training_callbacks(tempfile.mkdtemp())]
    ['TerminateOnNaN', 'BackupAndRestore', 'ModelCheckpoint', 'CSVLogger', 'TensorBoard']
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    callbacks = [
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.BackupAndRestore(
            str(output_dir / "backup"), save_freq=backup_every_steps, delete_checkpoint=True
        ),
        keras.callbacks.ModelCheckpoint(
            str(output_dir / "best.keras"), monitor=monitor, mode=mode, save_best_only=True
        ),
        keras.callbacks.CSVLogger(str(output_dir / "history.csv"), append=True),
    ]
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(str(output_dir / "logs")))
    return callbacks
