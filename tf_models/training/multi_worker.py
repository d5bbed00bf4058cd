"""The training loop for several machines (`MultiWorkerMirroredStrategy`).

Keras 3's `fit` breaks under a multi-worker strategy: it reduces each step's
scalar logs along an axis they do not have (keras-team/keras#20585). This
loop calls the model's own `train_step` and `test_step`, so compile
settings, losses, masks, loss scaling and metrics are exactly `fit`'s, and
reduces the logs over the replicas with `axis=None`. Around it:

* Keras callbacks get the reduced logs (file-writing ones on the chief only:
  the jobs give the other workers a temporary folder);
* every worker writes the backups, the others into temporary folders
  (`resume.TrainingState`), at the same steps;
* `tf.distribute.experimental.PreemptionCheckpointHandler` turns a SIGTERM
  on any worker into a backup at the same step on all of them, then exits
  (code 143), so that the same command started again resumes there;
* `check_workers_agree` stops every worker at once when they would train on
  different data.

Every worker runs the same command with its own `TF_CONFIG`:

    TF_CONFIG='{"cluster": {"worker": ["host0:12345", "host1:12345"]},
                "task": {"type": "worker", "index": 0}}' \\
        python -m tf_models train-translation --output-dir /shared/runs/t
"""

import hashlib
import itertools
import sys

import keras
import numpy as np
import tensorflow as tf

from tf_models.training.divergence import check_finite_loss
from tf_models.training.topology import is_multi_worker
from tf_models.training.watchdog import awaiting_peers

# How much longer than --worker-timeout a wait may take that also traces a
# step function (the first training step, the first validation batch of each
# evaluation): tracing takes seconds to a minute, and each worker traces at
# its own pace (a test run on a loaded 2-core machine waited more than 6 s).
TRACING_EXTRA_SECONDS = 120


class WorkersDisagree(ValueError):
    """The workers of one run would train on different data or vocabularies."""


def fingerprint(values):
    """A number that identifies `values` (strings, arrays or nested
    structures of them), equal on every machine for equal values.

    Example:
    >>> fingerprint(["[PAD]", "a"]) == fingerprint(["[PAD]", "a"])
    True
    """
    digest = hashlib.sha256()
    for value in tf.nest.flatten(values):
        digest.update(np.asarray(value).tobytes() if not isinstance(value, str) else value.encode())
    # 48 bits: exact in a float64, which every collective reduces.
    return int.from_bytes(digest.digest()[:6], "big")


def check_workers_agree(strategy, what, value):
    """Raises `WorkersDisagree` on every worker unless `fingerprint(value)`
    is the same on all of them.

    Each worker compares its fingerprint with the replicas' mean; one all
    reduce more tells every worker whether any of them differed, so that
    all stop rather than the rest waiting forever for the one that stopped.
    """
    mine = float(fingerprint(value))

    def differs():
        context = tf.distribute.get_replica_context()
        mean = context.all_reduce("MEAN", tf.constant(mine, tf.float64))
        return context.all_reduce("SUM", tf.cast(tf.not_equal(mean, mine), tf.float64))

    with awaiting_peers(f"comparing the {what}"):
        disagreeing = strategy.experimental_local_results(tf.function(lambda: strategy.run(differs))())[0]
    if float(disagreeing) > 0:
        raise WorkersDisagree(
            f"the workers' {what} differ: every worker must see the same data files, options and "
            f"--seed (this worker's {what} fingerprint is {int(mine)})"
        )


def broadcast_from_chief(strategy, strings):
    """The chief's `strings` on every worker (`strings` itself on one machine).

    For what each worker computes but only one version may be used, such as
    a learned vocabulary when the learner is not deterministic across
    processes. Two all-reduces in which only replica 0 (on the chief)
    contributes: the length, then the bytes.

    Args:
        strategy: the run's strategy.
        strings: a list of strings without newlines.

    Returns:
        The chief's list.
    """
    if not is_multi_worker(strategy):
        return list(strings)
    mine = np.frombuffer("\n".join(strings).encode("utf-8"), np.uint8).astype(np.float32)

    def from_replica_0(value):
        context = tf.distribute.get_replica_context()
        keep = tf.cast(tf.equal(context.replica_id_in_sync_group, 0), value.dtype)
        return context.all_reduce("SUM", value * keep)

    def local(result):
        return strategy.experimental_local_results(result)[0].numpy()

    with awaiting_peers("receiving the chief's vocabulary"):
        length = int(local(tf.function(lambda: strategy.run(from_replica_0,
                                                            args=(tf.constant(mine.size, tf.float64),)))()))
        sent = np.zeros(length, np.float32)
        sent[: min(length, mine.size)] = mine[:length]
        received = local(tf.function(lambda: strategy.run(from_replica_0, args=(tf.constant(sent),)))())
    return received.astype(np.uint8).tobytes().decode("utf-8").split("\n")


def _distributed(step, strategy):
    """`step` (a `train_step` or `test_step`) on every replica, its logs
    averaged over all replicas of all workers."""

    # Batches padded to their longest example come in many shapes: as in
    # `fit`, relax the traced shapes rather than trace again for each one.
    @tf.function(reduce_retracing=True)
    def run(batch):
        logs = strategy.run(step, args=(batch,))
        return {name: strategy.reduce("MEAN", value, axis=None) for name, value in logs.items()}

    return run


def _numbers(logs):
    return {name: float(value) for name, value in logs.items()}


def evaluate_multi_worker(model, dataset):
    """`model.evaluate` under a multi-worker strategy: each worker scores its
    shard of every batch; returns the logs averaged over the replicas."""
    strategy = model.distribute_strategy
    test_step = _distributed(model.test_step, strategy)
    model.reset_metrics()
    logs = {}
    batches = iter(strategy.experimental_distribute_dataset(_sharded_by_data(dataset)))
    for number in itertools.count(1):
        # Each batch waits for the peers; the first also traces the step.
        with awaiting_peers(f"scoring validation batch {number}", TRACING_EXTRA_SECONDS if number == 1 else 0):
            batch = next(batches, None)
            if batch is None:
                break
            logs = test_step(batch)
    return _numbers(logs)


def _sharded_by_data(dataset):
    # In-memory and generated data have no files to split between the
    # workers: each worker reads the stream and keeps its part of each batch.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def _exit_preempted(state):
    print(f"\nstopped by SIGTERM: every worker saved a backup after step {int(state.step.numpy())} in "
          f"{state.directory}; the same command started again resumes there", flush=True)
    sys.exit(143)  # 128 + SIGTERM: what schedulers read as "terminated, restart me"


def train_multi_worker(model, stream, state, steps_per_epoch, epochs, backup_every, callbacks=(),
                       validation_data=None, verbose="auto"):
    """Trains `model` from the step `state` holds to `epochs * steps_per_epoch`.

    Called by `fit_resumable` under a multi-worker strategy.

    Args:
        model: a compiled model made in the strategy's scope.
        stream: a function returning the repeated training stream of global
            batches, the same on every worker.
        state: the run's `resume.TrainingState` (restored).
        steps_per_epoch: batches per epoch.
        epochs: total epochs.
        backup_every: steps between backups.
        callbacks: Keras callbacks (progress, logs).
        validation_data: scored on all workers at each epoch's end.
        verbose: 0 for no progress bar.

    Returns:
        A `History` of the epochs run here.
    """
    strategy = model.distribute_strategy
    done = int(state.step.numpy())
    check_workers_agree(strategy, "first batch", next(iter(stream().skip(done).take(1))))
    iterator = iter(strategy.experimental_distribute_dataset(_sharded_by_data(stream().skip(done))))
    train_step = _distributed(model.train_step, strategy)
    # SIGTERM on any worker: all save a backup at the same step and exit.
    with awaiting_peers("starting training"):
        preemption = tf.distribute.experimental.PreemptionCheckpointHandler(
            strategy.cluster_resolver, state.checkpoint, str(state.directory),
            tf.distribute.experimental.TerminationConfig(exit_fn=lambda: _exit_preempted(state)),
        )
    history = keras.callbacks.History()
    callbacks = keras.callbacks.CallbackList(
        [*callbacks, history], model=model, add_progbar=verbose != 0,
        verbose=1 if verbose == "auto" else verbose, epochs=epochs, steps=steps_per_epoch,
    )
    model.stop_training = False
    callbacks.on_train_begin()
    epoch, batch = divmod(done, steps_per_epoch)
    while epoch < epochs and not model.stop_training:
        model.reset_metrics()
        callbacks.on_epoch_begin(epoch)
        logs = {}
        for batch in range(batch, steps_per_epoch):
            callbacks.on_train_batch_begin(batch)
            step = int(state.step.numpy()) + 1
            # This process' first step also traces the step function.
            with awaiting_peers(f"training step {step}", TRACING_EXTRA_SECONDS if step == done + 1 else 0):
                logs = _numbers(preemption.run(train_step, next(iterator)))
                state.step.assign_add(1)
                # The logs are reduced over the workers: all of them stop here together.
                check_finite_loss(logs, step, state)
                if step % backup_every == 0:
                    state.save()
            callbacks.on_train_batch_end(batch, logs)
            if model.stop_training:
                break
        epoch_logs = dict(logs)
        if validation_data is not None:
            epoch_logs.update({f"val_{name}": value
                               for name, value in evaluate_multi_worker(model, validation_data).items()})
        callbacks.on_epoch_end(epoch, epoch_logs)
        epoch, batch = epoch + 1, 0
    callbacks.on_train_end(logs)
    return history
