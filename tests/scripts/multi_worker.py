"""One worker of a two-worker MultiWorkerMirroredStrategy run on 127.0.0.1;
used by test_multi_worker.py.

    python multi_worker.py INDEX PORT0 PORT1 OUT_DIR STEPS SECONDS_PER_STEP

Trains a tiny BERT classifier for STEPS steps, appending a line per step to
OUT_DIR/progress<INDEX>.txt, and saves OUT_DIR/weights<INDEX>.npz at the end.
"""

import json
import os
import sys
import time

index, port0, port1, out_dir, steps, pause = sys.argv[1:7]
os.environ["TF_CONFIG"] = json.dumps({
    "cluster": {"worker": [f"127.0.0.1:{port0}", f"127.0.0.1:{port1}"]},
    "task": {"type": "worker", "index": int(index)},
})
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tf_models.models import BertBackbone, BertClassifier  # noqa: E402
from tf_models.training import select_strategy  # noqa: E402


class Progress(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        with open(os.path.join(out_dir, f"progress{index}.txt"), "a") as file:
            file.write(f"{batch}\n")
        time.sleep(float(pause))


def dataset(global_batch=8):
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 50, (64, 10)).astype("int32")
    features = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids)}
    labels = {"logits": rng.integers(0, 3, 64).astype("int32")}
    data = tf.data.Dataset.from_tensor_slices((features, labels)).batch(global_batch).repeat()
    options = tf.data.Options()
    # In-memory data has no files to split: each worker takes every other batch.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return data.with_options(options)


strategy = select_strategy("auto")  # first: it must come before any TensorFlow work
assert isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy), type(strategy)
keras.utils.set_random_seed(0)
with strategy.scope():
    model = BertClassifier(BertBackbone.from_preset("test"), num_classes=3, dropout=0.0)
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(model.trainable_variables)
cross_entropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")

# Keras 3's model.fit does not support MultiWorkerMirroredStrategy
# (keras-team/keras#20585), so this is a custom loop: each worker computes
# its half of the global-batch mean loss; the optimizer sums the gradients
# across workers before applying them.


@tf.function
def train_step(iterator):
    def replica_step(features, labels):
        with tf.GradientTape() as tape:
            logits = model(features, training=True)["logits"]
            loss = tf.nn.compute_average_loss(cross_entropy(labels["logits"], logits), global_batch_size=8)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)  # all-reduces (sums) them first
        return loss

    return strategy.run(replica_step, args=next(iterator))


iterator = iter(strategy.experimental_distribute_dataset(dataset()))
progress = Progress()
for step in range(int(steps)):
    train_step(iterator)
    progress.on_train_batch_end(step)
np.savez(os.path.join(out_dir, f"weights{index}.npz"), *[np.asarray(w) for w in model.weights])
print("worker", index, "done", flush=True)
