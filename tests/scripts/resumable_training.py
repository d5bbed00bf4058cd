"""Trains a tiny Transformer with `fit_resumable`; used by test_resume.py.

    python resumable_training.py RUN_DIR

Writes RUN_DIR/progress.txt (a line per batch) and, when training is
complete, RUN_DIR/weights.npz.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tf_models.models import Transformer  # noqa: E402
from tf_models.training import compile_transformer  # noqa: E402
from tf_models.training.resume import fit_resumable  # noqa: E402

STEPS_PER_EPOCH, EPOCHS, BATCH, BACKUP_EVERY = 4, 5, 8, 3


class Progress(keras.callbacks.Callback):
    def __init__(self, path):
        super().__init__()
        self.path = path
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        with open(self.path, "a") as file:
            file.write(f"epoch {self.epoch} batch {batch}\n")
            file.flush()
            os.fsync(file.fileno())


def make_dataset():
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 50, (64, 6)).astype("int32")
    inputs = {"encoder_token_ids": ids, "decoder_token_ids": np.roll(ids, 1, axis=1)}
    return (
        tf.data.Dataset.from_tensor_slices((inputs, {"logits": ids}))
        .shuffle(64, seed=1, reshuffle_each_iteration=True)
        .batch(BATCH)
        .repeat()
    )


def main(run_dir):
    keras.utils.set_random_seed(0)
    tf.config.experimental.enable_op_determinism()
    model = Transformer.from_preset("test", dropout=0.1)
    compile_transformer(model, warmup_steps=5)
    fit_resumable(
        model, make_dataset, STEPS_PER_EPOCH, EPOCHS, os.path.join(run_dir, "backup"), backup_every=BACKUP_EVERY,
        callbacks=[Progress(os.path.join(run_dir, "progress.txt"))], verbose=0,
    )
    np.savez(os.path.join(run_dir, "weights.npz"), *model.get_weights())


if __name__ == "__main__":
    main(sys.argv[1])
