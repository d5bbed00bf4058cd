"""Training that resumes exactly where a killed run stopped, on one machine
or on several.

Keras' `BackupAndRestore` restores the weights and the epoch number, but a
run killed mid-epoch replays that epoch from its first batch, and a new
process shuffles the data differently: the resumed run ends with other
weights than an uninterrupted one. Exact resumption needs three things,
which `fit_resumable` puts together:

1. the data as one deterministic stream: `make_dataset()` builds it shuffled
   with a fixed seed, and it is repeated, so batch number `k` is the same in
   every process. A function, not a dataset: a pipeline that reshuffles
   remembers how often it was iterated, so each `fit` call and each check
   needs a fresh one to see what a fresh process sees;
2. a checkpoint of everything that changes while training (weights,
   optimizer slots and step, dropout seed state, the number of steps done)
   written every `backup_every` steps, atomically;
3. on restart, the checkpoint restored and the stream fast-forwarded by the
   batches already trained on (`dataset.skip`), the interrupted epoch
   finished from the batch where it stopped.

With deterministic ops (`tf.config.experimental.enable_op_determinism()`)
the resumed run then ends with exactly the weights of an uninterrupted run.

A run that diverges (a loss that is NaN or infinite) is stopped at that step
with `TrainingDiverged`, and no backup is ever taken of weights that are not
finite: the last backup stays the last good state. Under `mixed_float16` an
overflowing step is not a divergence: the loss-scale optimizer skips it and
the loss stays finite.

On one machine the loop is `model.fit`. Under `MultiWorkerMirroredStrategy`,
which Keras 3's `fit` does not support (keras-team/keras#20585), it is the
loop of `multi_worker.py` around the same `train_step`.
"""

import atexit
import logging
import shutil
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tf_models.training.divergence import TrainingDiverged, check_finite_loss
from tf_models.training.topology import is_multi_worker, worker_directory
from tf_models.training.watchdog import remove_on_timeout

logger = logging.getLogger(__name__)


class TrainingState:
    """What a resumed run needs: a `tf.train.Checkpoint` of the model, its
    optimizer, the dropout seed states and the steps done, kept in `directory`.

    Args:
        model: a compiled model; its optimizer is built here if it is not.
        directory: the backup folder, on storage every worker sees.

    Example:
    >>> import tempfile, keras
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> state = TrainingState(model, tempfile.mkdtemp())
    >>> state.restore(), state.save(), state.restore()
    (0, None, 0)
    """

    def __init__(self, model, directory):
        self.model = model
        self.directory = Path(directory)
        self.strategy = model.distribute_strategy
        # Variables made here must live where the model's do (a strategy other
        # than the default refuses variables made outside its scope).
        with self.strategy.scope():
            if not model.optimizer.built:
                # Create the optimizer's variables now, so that they can be restored.
                model.optimizer.build(model.trainable_variables)
            # Dropout's random state lives in Keras seed generators, which
            # tf.train.Checkpoint does not track through the model: add them by hand.
            seed_states = [v.value for v in model.variables if "seed_generator_state" in v.path]
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="steps_done",
                                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
            self.checkpoint = tf.train.Checkpoint(
                model=model, optimizer=model.optimizer, seed_states=seed_states, step=self.step,
            )
        self._write_directory = worker_directory(self.directory, self.strategy)
        if self._write_directory != self.directory:  # a worker's scratch copy: gone however the worker ends
            atexit.register(shutil.rmtree, self._write_directory.parent, ignore_errors=True)
            remove_on_timeout(self._write_directory.parent)
        self._manager = tf.train.CheckpointManager(self.checkpoint, str(self._write_directory), max_to_keep=1)
        self.saved_step = 0  # the step of the latest backup, restored or taken

    def weights_are_finite(self):
        """Whether every weight of the model is a finite number."""
        return all(np.isfinite(keras.ops.convert_to_numpy(v)).all() for v in self.model.trainable_variables)

    def restore(self):
        """Restores the latest backup, if any; returns the steps already done."""
        latest = tf.train.latest_checkpoint(str(self.directory))  # the chief's, on every worker
        if latest:
            self.checkpoint.restore(latest).assert_existing_objects_matched()
            logger.info("resuming from %s after step %d", latest, int(self.step.numpy()))
        self.saved_step = int(self.step.numpy())
        return self.saved_step

    def save(self):
        """Writes a backup (every worker must call it at the same step);
        refuses weights that are not finite (`TrainingDiverged`)."""
        step = int(self.step.numpy())
        if not self.weights_are_finite():
            raise TrainingDiverged(step, "some weights are not finite numbers", self.directory, self.saved_step)
        self._manager.save()  # writes to a temporary name, then renames: atomic
        self.saved_step = step
        if self._write_directory != self.directory:
            shutil.rmtree(self._write_directory.parent, ignore_errors=True)

    def delete(self):
        """Removes the backups of a finished run (and a worker's temporary folder)."""
        shutil.rmtree(self.directory if self._write_directory == self.directory else self._write_directory.parent,
                      ignore_errors=True)


class StepBackup(keras.callbacks.Callback):
    """Counts the steps `fit` trains, stops at a loss that is not finite
    (`TrainingDiverged`) and saves a `TrainingState` every `every` steps.

    `steps_per_execution` calls `on_train_batch_end` once per execution with
    the index of its last batch, so the steps are counted from the indices.
    """

    def __init__(self, state, every):
        super().__init__()
        self.state = state
        self.every = every

    def on_epoch_begin(self, epoch, logs=None):
        self._last_batch = -1

    def on_train_batch_end(self, batch, logs=None):
        before = int(self.state.step.numpy())
        after = before + batch - self._last_batch
        self._last_batch = batch
        self.state.step.assign(after)
        check_finite_loss(logs, after, self.state)  # before a backup could keep it
        if after // self.every > before // self.every:
            self.state.save()


def fit_resumable(
    model,
    make_dataset,
    steps_per_epoch,
    epochs,
    backup_dir,
    backup_every=None,
    callbacks=(),
    validation_data=None,
    verbose="auto",
    delete_backup=True,
    **fit_kwargs,
):
    """Trains like `model.fit`, resuming exactly from `backup_dir` if a
    previous run of the same command was interrupted.

    On one machine this is `model.fit`; under a multi-worker strategy it is
    a loop of the same `train_step` (see `multi_worker.py`).

    Args:
        model: a compiled model (built or not), made in its strategy's scope.
        make_dataset: a function that returns the training batches as a
            `tf.data.Dataset`, the same in every process (shuffled with a
            fixed seed); a finite one is repeated, one pass per epoch.
        steps_per_epoch: batches per epoch.
        epochs: total epochs of the run.
        backup_dir: where the training state is kept; delete it to start over.
        backup_every: steps between backups (default: one epoch).
        callbacks: more Keras callbacks.
        validation_data: scored at the end of each epoch, as in `fit`.
        verbose: `fit`'s progress setting.
        delete_backup: remove `backup_dir` once training completes.
        **fit_kwargs: more `model.fit` arguments (one machine only).

    Returns:
        The `History` of the epochs run in this process.

    Example:
    >>> import tempfile, keras, numpy as np, tensorflow as tf
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> data = tf.data.Dataset.from_tensor_slices((np.ones((8, 2)), np.ones((8, 1)))).batch(4)
    >>> history = fit_resumable(model, lambda: data, steps_per_epoch=2, epochs=3,
    ...                         backup_dir=tempfile.mkdtemp(), backup_every=1, verbose=0)
    >>> len(history.history["loss"])
    3
    """
    def stream():
        dataset = make_dataset()
        if dataset.cardinality() != tf.data.INFINITE_CARDINALITY:
            dataset = dataset.repeat()  # epoch k: the seeded shuffle's k-th order
        return dataset

    state = TrainingState(model, backup_dir)
    done = state.restore()
    if done:
        print(f"resuming from {backup_dir} after step {done} (epoch {done // steps_per_epoch + 1}, "
              f"batch {done % steps_per_epoch + 1})", flush=True)
    backup_every = backup_every or steps_per_epoch
    if is_multi_worker(model.distribute_strategy):
        from tf_models.training.multi_worker import train_multi_worker

        history = train_multi_worker(model, stream, state, steps_per_epoch, epochs, backup_every,
                                     callbacks=callbacks, validation_data=validation_data, verbose=verbose)
    else:
        history = _fit_from(model, stream, state, steps_per_epoch, epochs, backup_every,
                            callbacks=callbacks, validation_data=validation_data, verbose=verbose, **fit_kwargs)
    if delete_backup:
        state.delete()
    return history


def _fit_peeks(model):
    """Whether `fit` opens the dataset twice: under a strategy other than the
    default it reads one batch from a first iterator to build the model, then
    trains from a second one."""
    with model.distribute_strategy.scope():
        return tf.distribute.has_strategy()


def _opened_afresh(make_stream):
    """The dataset `make_stream()` builds, built anew at each opening.

    A pipeline that reshuffles gives each new iterator the next order, and the
    first iterator `fit` opens under a strategy prefetches a varying number of
    batches, so the order of the second one would vary. Reading the stream
    through a generator starts every iterator on the same fresh pipeline (a
    Python hop per batch, small beside a training step).
    """
    spec = make_stream().element_spec
    return tf.data.Dataset.from_generator(lambda: iter(make_stream()), output_signature=spec).prefetch(2)


def _fit_from(model, stream, state, steps_per_epoch, epochs, backup_every, callbacks, **fit_kwargs):
    """`model.fit` from the step `state` holds: at most two calls, the rest
    of an interrupted epoch, then the epochs after it."""
    callbacks = [*callbacks, StepBackup(state, backup_every)]
    history = keras.callbacks.History()
    epoch, batch = divmod(int(state.step.numpy()), steps_per_epoch)
    while epoch < epochs:
        done = int(state.step.numpy())
        if batch and fit_kwargs.get("verbose", "auto") != 0:
            # Keras titles no epoch when a fit call runs just one.
            print(f"Epoch {epoch + 1}/{epochs} from batch {batch + 1} of {steps_per_epoch}", flush=True)
        history = model.fit(
            _opened_afresh(lambda: stream().skip(done)) if _fit_peeks(model) else stream().skip(done),
            steps_per_epoch=steps_per_epoch - batch,
            initial_epoch=epoch,
            epochs=epoch + 1 if batch else epochs,
            callbacks=callbacks,
            # The stream is shuffled already (`make_dataset`'s seeded order); fit's
            # own `shuffle` is for arrays, and Keras warns when it is left on.
            shuffle=False,
            **fit_kwargs,
        )
        if model.stop_training:  # EarlyStopping
            break
        epoch, batch = divmod(int(state.step.numpy()), steps_per_epoch)
    return history
