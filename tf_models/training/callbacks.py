"""The callbacks a real training run needs, in one place."""

import json
import math
import sys
import time
from pathlib import Path

import keras

from tf_models import storage


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


class BestModel(keras.callbacks.Callback):
    """Keeps the model of the best epoch so far by `monitor` in `path`
    (`best.keras`), and its score in `<path>.json`.

    Unlike Keras' `ModelCheckpoint`, the file is written atomically (a kill
    never leaves half of it), and a resumed run starts from the best score
    its interrupted try reached (`resume=True`), so an epoch after the resume
    replaces `best.keras` only if it is better.

    Args:
        path: where the best model goes (a `.keras` file).
        monitor: the metric to compare (`"val_loss"`, `"loss"`, ...).
        mode: `"min"` or `"max"`.
        resume: start from the score in `<path>.json`, if any (a resumed run);
            otherwise any first epoch is the best so far.

    Example:
    >>> import tempfile, numpy as np
    >>> path = Path(tempfile.mkdtemp()) / "best.keras"
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0, callbacks=[BestModel(path, "loss")])
    >>> sorted(json.loads(path.with_suffix(".json").read_text()))
    ['epoch', 'loss']
    """

    def __init__(self, path, monitor="val_loss", mode="min", resume=False):
        super().__init__()
        self.path = Path(path)
        self.monitor = monitor
        self.mode = mode
        self.resume = resume
        self.best = None
        self.score_path = self.path.with_suffix(".json")
        if resume and self.path.exists() and self.score_path.exists():
            self.best = json.loads(self.score_path.read_text()).get(monitor)

    def _better(self, value):
        if not math.isfinite(value):
            return False
        if self.best is None:
            return True
        return value < self.best if self.mode == "min" else value > self.best

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not self._better(float(value)):
            return
        self.best = float(value)
        storage.save_model(self.model, self.path)
        # After the model: a score never describes a model that is not there.
        storage.write_json(self.score_path, {self.monitor: self.best, "epoch": epoch + 1})


def training_callbacks(
    output_dir,
    monitor="val_loss",
    mode="min",
    tensorboard=True,
    write_files=True,
    resume=False,
):
    """Progress, logs and checkpoints for `model.fit`.

    Keras adds its own progress bar. This returns, writing under `output_dir`:

    * `FirstStepTimer`: says that the first step traces the graph, and how long it took;
    * `BestModel` (`best.keras`): the best model by `monitor`, kept across a resume;
    * `CSVLogger` (`history.csv`): one line of metrics per epoch;
    * `TensorBoard` (`logs/`): curves for `tensorboard --logdir`.

    Backups that let a killed run resume, and the stop at a non-finite loss
    (`TrainingDiverged`), are `fit_resumable`'s, not a callback's: Keras'
    `BackupAndRestore` restarts an interrupted epoch from its first batch,
    and its `TerminateOnNaN` ends `fit` as if training had finished.

    Args:
        output_dir: the run's directory.
        monitor: metric that decides the best model (`"loss"` when there is no
            validation data).
        mode: `"min"` or `"max"` for `monitor`.
        tensorboard: whether to write TensorBoard logs.
        write_files: `False` leaves out the callbacks that write files (for
            the workers other than the chief).
        resume: whether the run resumes an interrupted one (`BestModel`
            keeps the best score reached before).

    Example:
    >>> import tempfile
    >>> [type(c).__name__ for c in training_callbacks(tempfile.mkdtemp())]
    ['FirstStepTimer', 'BestModel', 'CSVLogger', 'TensorBoard']
    """
    callbacks = [FirstStepTimer()]
    if not write_files:
        return callbacks
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    callbacks += [
        BestModel(output_dir / "best.keras", monitor=monitor, mode=mode, resume=resume),
        keras.callbacks.CSVLogger(str(output_dir / "history.csv"), append=True),
    ]
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(str(output_dir / "logs")))
    return callbacks
