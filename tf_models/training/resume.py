"""`model.fit` that resumes exactly where a killed run stopped.

Keras' `BackupAndRestore` restores the weights and the epoch number, but a
run killed mid-epoch replays that epoch from its first batch, and a new
process shuffles the data differently: the resumed run ends with other
weights than an uninterrupted one. Exact resumption needs three things,
which `fit_resumable` puts together:

1. the data as one deterministic stream: `make_dataset()` is shuffled with a
   fixed seed and repeated, so batch number `k` is the same in every process;
2. a checkpoint of everything that changes while training (weights,
   optimizer slots and step, dropout seed state, the epoch) written after
   each epoch, atomically;
3. on restart, the checkpoint restored and the stream fast-forwarded by the
   batches already trained on (`dataset.skip`).

With deterministic ops (`tf.config.experimental.enable_op_determinism()`)
the resumed run then ends with exactly the weights of an uninterrupted run.
Keep epochs short (`steps_per_epoch`) to lose little work to a crash.
"""

import logging

import keras
import tensorflow as tf

logger = logging.getLogger(__name__)


class _EpochCheckpoint(keras.callbacks.Callback):
    """Writes the training state at the end of every epoch."""

    def __init__(self, checkpoint, manager):
        super().__init__()
        self.checkpoint = checkpoint
        self.manager = manager

    def on_epoch_end(self, epoch, logs=None):
        self.checkpoint.epoch.assign(epoch + 1)
        self.manager.save()  # tf.train.CheckpointManager writes atomically


def fit_resumable(
    model,
    make_dataset,
    steps_per_epoch,
    epochs,
    backup_dir,
    callbacks=(),
    **fit_kwargs,
):
    """Trains like `model.fit`, resuming exactly from `backup_dir` if a
    previous run of the same command was interrupted.

    Args:
        model: a compiled model (built or not).
        make_dataset: a function returning the training data as a
            deterministic, repeated `tf.data.Dataset` of batches.
        steps_per_epoch: batches per epoch (a checkpoint is written after each).
        epochs: total epochs of the run.
        backup_dir: where the training state is kept; delete it to start over.
        callbacks: more Keras callbacks.
        **fit_kwargs: more `model.fit` arguments (`validation_data`, `verbose`).

    Returns:
        The `History` of the epochs run in this process.
    """
    dataset = make_dataset()
    # Variables made here must live where the model's do (a strategy other
    # than the default refuses variables made outside its scope).
    with model.distribute_strategy.scope():
        if not model.optimizer.built:
            # Create the optimizer's variables now, so that they can be restored.
            model.optimizer.build(model.trainable_variables)
        # Dropout's random state lives in Keras seed generators, which
        # tf.train.Checkpoint does not track through the model: add them by hand.
        seed_states = [v.value for v in model.variables if "seed_generator_state" in v.path]
        checkpoint = tf.train.Checkpoint(
            model=model,
            optimizer=model.optimizer,
            seed_states=seed_states,
            epoch=tf.Variable(0, dtype=tf.int64),
        )
    manager = tf.train.CheckpointManager(checkpoint, str(backup_dir), max_to_keep=1)
    initial_epoch = 0
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        initial_epoch = int(checkpoint.epoch.numpy())
        logger.warning("resuming from %s at epoch %d", manager.latest_checkpoint, initial_epoch)
        print(f"resuming from {manager.latest_checkpoint} at epoch {initial_epoch}")
    history = model.fit(
        dataset.skip(initial_epoch * steps_per_epoch),
        steps_per_epoch=steps_per_epoch,
        epochs=epochs,
        initial_epoch=initial_epoch,
        callbacks=[*callbacks, _EpochCheckpoint(checkpoint, manager)],
        **fit_kwargs,
    )
    return history
