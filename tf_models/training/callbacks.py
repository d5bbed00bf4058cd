"""The callbacks a real training run needs, in one place."""

import sys
import time
from pathlib import Path

import keras


def progress_verbosity(verbose=None, stream=None):
    """`fit`'s `verbose`: `None` picks a progress bar on a terminal and one
    line per epoch in a log file, a pipe or a notebook (where a bar would
    write one line per step into the saved output).

    Example:
    >>> import io
    >>> progress_verbosity(None, io.StringIO()), progress_verbosity(1, io.StringIO())
    (2, 1)
    """
    if verbose is not None:
        return verbose
    stream = stream or sys.stdout
    return 1 if getattr(stream, "isatty", lambda: False)() and "ipykernel" not in sys.modules else 2


class FirstStepTimer(keras.callbacks.Callback):
    """Says that the first training step traces and compiles the graph, and
    how long that took, so that it does not read as one very slow step.

    Example:
    >>> import io, contextlib, numpy as np
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> with contextlib.redirect_stdout(io.StringIO()) as out:
    ...     _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0, callbacks=[FirstStepTimer()])
    >>> out.getvalue().startswith("first step: tracing")
    True
    """

    def __init__(self):
        super().__init__()
        # Once per instance: a resumed epoch calls fit twice with one step function.
        self._started = None
        self._announced = False

    def on_train_batch_begin(self, batch, logs=None):
        if not self._announced:
            print("first step: tracing and compiling the training step (once per run) ...", flush=True)
            self._started = time.time()

    def on_train_batch_end(self, batch, logs=None):
        if not self._announced:
            self._announced = True
            print(f"first step: traced and run in {time.time() - self._started:.1f}s; "
                  "the steps after it are fast", flush=True)


def training_callbacks(
    output_dir,
    monitor="val_loss",
    mode="min",
    tensorboard=True,
    write_files=True,
):
    """Progress, logs and checkpoints for `model.fit`.

    Keras adds its own progress bar. This returns, writing under `output_dir`:

    * `FirstStepTimer`: says that the first step traces the graph, and how long it took;
    * `TerminateOnNaN`: stop at once when the loss becomes NaN;
    * `ModelCheckpoint` (`best.keras`): the best model by `monitor`;
    * `CSVLogger` (`history.csv`): one line of metrics per epoch;
    * `TensorBoard` (`logs/`): curves for `tensorboard --logdir`.

    Backups that let a killed run resume are `fit_resumable`'s, not a
    callback's: Keras' `BackupAndRestore` restarts an interrupted epoch from
    its first batch.

    Args:
        output_dir: the run's directory.
        monitor: metric that decides the best model (`"loss"` when there is no
            validation data).
        mode: `"min"` or `"max"` for `monitor`.
        tensorboard: whether to write TensorBoard logs.
        write_files: `False` leaves out the callbacks that write files (for
            the workers other than the chief).

    Example:
    >>> import tempfile
    >>> [type(c).__name__ for c in training_callbacks(tempfile.mkdtemp())]
    ['FirstStepTimer', 'TerminateOnNaN', 'ModelCheckpoint', 'CSVLogger', 'TensorBoard']
    """
    callbacks = [FirstStepTimer(), keras.callbacks.TerminateOnNaN()]
    if not write_files:
        return callbacks
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    callbacks += [
        keras.callbacks.ModelCheckpoint(
            str(output_dir / "best.keras"), monitor=monitor, mode=mode, save_best_only=True
        ),
        keras.callbacks.CSVLogger(str(output_dir / "history.csv"), append=True),
    ]
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(str(output_dir / "logs")))
    return callbacks
