"""Trains the same tiny BERT classifier with the default strategy and with a
MirroredStrategy over two logical CPUs; prints both loss trajectories as JSON.
Used by test_distribute.py (logical devices must be set before TensorFlow
starts, hence a separate process)."""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

(cpu,) = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)

from tf_models.models import BertBackbone, BertClassifier  # noqa: E402

STEPS, GLOBAL_BATCH = 6, 8


def batches():
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 50, (STEPS * GLOBAL_BATCH, 10)).astype("int32")
    features = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids)}
    labels = {"logits": rng.integers(0, 3, STEPS * GLOBAL_BATCH).astype("int32")}
    return tf.data.Dataset.from_tensor_slices((features, labels)).batch(GLOBAL_BATCH)


def trajectory(strategy):
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = BertClassifier(BertBackbone.from_preset("test"), num_classes=3, dropout=0.0)
        model.compile(
            optimizer=keras.optimizers.SGD(0.5),
            loss={"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True)},
        )
    # One step per epoch, so the history holds every step's loss.
    history = model.fit(batches().repeat(), steps_per_epoch=1, epochs=STEPS, verbose=0)
    return history.history["loss"]


if __name__ == "__main__":
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    print(json.dumps({
        "replicas": mirrored.num_replicas_in_sync,
        "default": trajectory(tf.distribute.get_strategy()),
        "mirrored": trajectory(mirrored),
    }))
