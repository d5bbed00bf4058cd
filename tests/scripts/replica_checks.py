"""Replica correctness on two logical CPUs: one process, several checks,
one JSON line of results for tests/test_distribute.py.

Logical devices must be set before TensorFlow starts, hence a separate
process. Each check trains the same model on the same global batches with
the default strategy (one replica) and with a MirroredStrategy over two
logical CPUs, or looks at what each replica did.
"""

import json
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

(cpu,) = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)

from tf_models.layers import Dropout  # noqa: E402
from tf_models.models import BertBackbone, BertClassifier, CausalLM  # noqa: E402
from tf_models.training import check_jit_compile, compile_causal_lm, fit_resumable, loss_scaled  # noqa: E402
from tf_models.training.optimizers import SGD  # noqa: E402

MIRRORED = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
DEFAULT = tf.distribute.get_strategy()
STEPS, GLOBAL_BATCH = 6, 8


def classifier_losses(strategy):
    """A tiny BERT classifier, plain SGD: the all-reduce and the loss scaling per replica."""
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 50, (STEPS * GLOBAL_BATCH, 10)).astype("int32")
    features = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids)}
    labels = {"logits": rng.integers(0, 3, STEPS * GLOBAL_BATCH).astype("int32")}
    data = tf.data.Dataset.from_tensor_slices((features, labels)).batch(GLOBAL_BATCH)
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = BertClassifier(BertBackbone.from_preset("test"), num_classes=3, dropout=0.0)
        model.compile(optimizer=keras.optimizers.SGD(0.5),
                      loss={"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True)})
    # One step per epoch, so the history holds every step's loss.
    return model.fit(data.repeat(), steps_per_epoch=1, epochs=STEPS, verbose=0).history["loss"]


def clipped_weight(strategy, optimizer_class, **clipping):
    """The issue's example: w = 0, SGD at rate 1, replicas' gradients -20 and +4."""
    with strategy.scope():
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
        model.compile(optimizer=optimizer_class(1.0, **clipping), loss="mse")
    # d/dw of (w - y)^2 at w = 0 is -2y: -40 and +8, which the batch mean halves.
    x, y = np.ones((2, 1), "float32"), np.array([[20.0], [-4.0]], "float32")
    model.fit(x, y, batch_size=2, epochs=1, verbose=0, shuffle=False)  # one example per replica
    return float(model.get_weights()[0][0, 0])


def causal_lm_run(strategy, clip_to=0.01):
    """The real compiled task (AdamW, global norm clipping, masked next-token
    loss with padding) for STEPS steps; its losses and final weights."""
    rng = np.random.default_rng(1)
    windows = rng.integers(1, 50, (STEPS * GLOBAL_BATCH, 13)).astype("int32")
    windows[::3, 9:] = 0  # some windows end in padding, which the loss must ignore
    inputs = windows[:, :-1]
    data = tf.data.Dataset.from_tensor_slices(
        ({"token_ids": inputs, "padding_mask": (inputs != 0).astype("int32")}, {"logits": windows[:, 1:]})
    ).batch(GLOBAL_BATCH)
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = CausalLM.from_preset("test", dropout=0.0)
        compile_causal_lm(model, total_steps=STEPS, peak_learning_rate=1e-2, warmup_steps=1)
    # A small global norm, so that every step is clipped.
    model.optimizer.global_clipnorm = clip_to
    losses = model.fit(data.repeat(), steps_per_epoch=1, epochs=STEPS, verbose=0).history["loss"]
    return losses, [np.asarray(w) for w in model.get_weights()]


def relative_difference(a, b):
    """The largest weight difference, relative to the largest weight. (Per
    tensor would divide by the attention key biases, whose gradient is zero
    in exact arithmetic: their values are rounding noise near 1e-11.)"""
    largest = max(float(np.max(np.abs(x))) for x in a)
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b)) / largest


def overflow_on_one_replica(optimizer_for):
    """mixed_float16, an inf in the second example only (the second replica's
    half of the batch): does every replica skip the step?"""
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        with MIRRORED.scope():
            model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
            model.compile(optimizer=optimizer_for(SGD(0.1)), loss="mse")
        before = [np.asarray(w) for w in model.get_weights()]
        x, y = np.array([[1.0, 1.0], [np.inf, 1.0]], "float32"), np.ones((2, 1), "float32")
        model.fit(x, y, batch_size=2, epochs=1, verbose=0, shuffle=False)
        copies = [np.asarray(t) for v in model.trainable_variables for t in v.value.values]
        return {
            "weights_finite": bool(all(np.isfinite(c).all() for c in copies)),
            "weights_unchanged": all(np.array_equal(a, b) for a, b in zip(before, model.get_weights())),
            "loss_scale": float(model.optimizer.dynamic_scale.numpy()),
            "initial_loss_scale": float(model.optimizer.initial_scale),
        }
    finally:
        keras.mixed_precision.set_global_policy("float32")


def dropout_masks_differ():
    """Each replica draws its own dropout mask for its own examples, with the
    layer built inside the scope as a model's is (its seed state is then one
    mirrored variable)."""
    with MIRRORED.scope():
        layer = Dropout(0.5, seed=1)
    outputs = MIRRORED.run(tf.function(lambda: layer(tf.ones((1, 64)), training=True)))
    first, second = (t.numpy() for t in MIRRORED.experimental_local_results(outputs))
    return not np.array_equal(first, second)


def resumable_run(strategy):
    """`fit_resumable` under a strategy other than the default: a run, then
    the same command again, which resumes from the backup."""
    backup = tempfile.mkdtemp()

    def make_dataset():
        x = np.linspace(-1, 1, 16, dtype="float32")[:, None]
        return tf.data.Dataset.from_tensor_slices((x, 3 * x)).batch(4).repeat()

    losses = []
    for epochs in (2, 3):  # the second call finds the first's backup
        with strategy.scope():
            model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, kernel_initializer="zeros")])
            model.compile(optimizer=SGD(0.1), loss="mse")
        history = fit_resumable(model, make_dataset, steps_per_epoch=4, epochs=epochs, backup_dir=backup, verbose=0,
                                delete_backup=False)
        losses += history.history["loss"]
    return losses


class Interrupted(Exception):
    pass


class InterruptAt(keras.callbacks.Callback):
    """Stands for a SIGKILL: training stops abruptly after `step` steps."""

    def __init__(self, step):
        super().__init__()
        self.step, self.seen = step, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.step:
            raise Interrupted()


def exact_resume(strategy):
    """A CausalLM with dropout, 3 epochs of 4 steps, backups every 3 steps:
    interrupted after step 7 (mid-epoch, last backup at 6) and run again with
    a new model, against an uninterrupted run. Returns the largest weight
    difference and the steps of the two runs."""

    def make_dataset():
        rng = np.random.default_rng(2)
        windows = rng.integers(1, 50, (4 * GLOBAL_BATCH, 13)).astype("int32")
        inputs = windows[:, :-1]
        return tf.data.Dataset.from_tensor_slices(
            ({"token_ids": inputs, "padding_mask": np.ones_like(inputs)}, {"logits": windows[:, 1:]})
        ).shuffle(4 * GLOBAL_BATCH, seed=3, reshuffle_each_iteration=True).batch(GLOBAL_BATCH)

    def run(backup, callbacks=()):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = CausalLM.from_preset("test", dropout=0.2)
            compile_causal_lm(model, total_steps=12, peak_learning_rate=1e-2, warmup_steps=2)
        fit_resumable(model, make_dataset, steps_per_epoch=4, epochs=3, backup_dir=backup, backup_every=3,
                      callbacks=callbacks, verbose=0)
        return model.get_weights()

    expected = run(tempfile.mkdtemp())
    backup = tempfile.mkdtemp()
    try:
        run(backup, [InterruptAt(7)])
    except Interrupted:
        pass
    resumed = run(backup)
    return max(float(np.max(np.abs(a - b))) for a, b in zip(expected, resumed))


def jit_refused():
    try:
        check_jit_compile(True, MIRRORED)
    except ValueError as error:
        return str(error)
    return None


if __name__ == "__main__":
    single, single_weights = causal_lm_run(DEFAULT)
    double, double_weights = causal_lm_run(MIRRORED)
    results = {
        "replicas": MIRRORED.num_replicas_in_sync,
        "classifier": {"default": classifier_losses(DEFAULT), "mirrored": classifier_losses(MIRRORED)},
        "clipping": {
            name: {
                "default": clipped_weight(DEFAULT, SGD, **{name: 1.0}),
                "mirrored": clipped_weight(MIRRORED, SGD, **{name: 1.0}),
                "mirrored_keras_sgd": clipped_weight(MIRRORED, keras.optimizers.SGD, **{name: 1.0}),
            }
            for name in ("global_clipnorm", "clipnorm", "clipvalue")
        },
        "causal_lm": {"default": single, "mirrored": double,
                      "weights_relative_difference": relative_difference(single_weights, double_weights)},
        "overflow": overflow_on_one_replica(loss_scaled),
        "overflow_keras": overflow_on_one_replica(keras.optimizers.LossScaleOptimizer),
        "dropout_masks_differ": dropout_masks_differ(),
        "resumable": {"one_device": resumable_run(tf.distribute.OneDeviceStrategy("/cpu:0")),
                      "mirrored": resumable_run(MIRRORED)},
        "exact_resume": {"default": exact_resume(DEFAULT), "mirrored": exact_resume(MIRRORED)},
        "jit_refused": jit_refused(),
    }
    print(json.dumps(results))
