"""A run killed with SIGKILL mid-epoch, restarted with the same command,
resumes from the step of its last backup and ends with exactly the weights
of an uninterrupted run."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).parent / "scripts" / "resumable_training.py"


def _start(run_dir):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.Popen([sys.executable, str(SCRIPT), str(run_dir)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _weights(run_dir):
    with np.load(run_dir / "weights.npz") as data:
        return [data[key] for key in sorted(data.files, key=lambda k: int(k.split("_")[1]))]


def test_killed_run_resumes_to_the_same_weights(tmp_path):
    reference_dir, killed_dir = tmp_path / "reference", tmp_path / "killed"
    reference_dir.mkdir()
    killed_dir.mkdir()
    reference = _start(reference_dir)
    killed = _start(killed_dir)
    progress = killed_dir / "progress.txt"
    deadline = time.time() + 240
    # Backups every 3 steps of 4-step epochs: kill in epoch 2 (0-based) after
    # its batch 1 (step 10), when the last backup is step 9's, mid-epoch.
    while time.time() < deadline and "epoch 2 batch 1" not in (progress.read_text() if progress.exists() else ""):
        assert killed.poll() is None, killed.stdout.read()
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    assert not (killed_dir / "weights.npz").exists()
    batches_before_kill = len(progress.read_text().splitlines())

    resumed = _start(killed_dir)
    output, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, output[-3000:]
    assert "after step 9 (epoch 3, batch 2)" in output
    reference_output, _ = reference.communicate(timeout=300)
    assert reference.returncode == 0, reference_output[-3000:]

    # The resumed process trained the 20 - 9 steps left, nothing again but
    # what followed the last backup.
    lines = progress.read_text().splitlines()
    assert len(lines) - batches_before_kill == 20 - 9
    assert lines.count("epoch 1 batch 0") == 1 and lines[-1] == "epoch 4 batch 3"
    for expected, actual in zip(_weights(reference_dir), _weights(killed_dir)):
        np.testing.assert_array_equal(actual, expected)  # deterministic ops: exactly equal


def _model():
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4), keras.layers.Dense(1, dtype="float32")])
    return model


def _data():
    import tensorflow as tf

    x = np.linspace(-1, 1, 32, dtype="float32").reshape(16, 2)
    return tf.data.Dataset.from_tensor_slices((x, x.sum(1, keepdims=True))).batch(4)


def test_a_diverging_fit_stops_at_its_step_and_keeps_the_last_finite_backup(tmp_path):
    import keras
    import pytest
    import tensorflow as tf

    from tf_models.training import TrainingDiverged, fit_resumable

    model = _model()
    model.compile(keras.optimizers.SGD(1e12), "mse")
    with pytest.raises(TrainingDiverged, match=r"training diverged at step \d+: the loss is (nan|inf)") as error:
        fit_resumable(model, _data, steps_per_epoch=4, epochs=5, backup_dir=tmp_path, backup_every=1, verbose=0)
    latest = tf.train.latest_checkpoint(str(tmp_path))
    assert latest and int(latest.rsplit("-", 1)[1]) < error.value.step  # backups stopped before it
    reader = tf.train.load_checkpoint(latest)
    for name in reader.get_variable_to_shape_map():
        if "model" in name and "kernel" in name:
            assert np.isfinite(reader.get_tensor(name)).all(), name


def test_under_mixed_float16_an_overflowing_step_is_skipped_not_a_divergence(tmp_path):
    import keras

    from tf_models.training import fit_resumable
    from tf_models.training.optimizers import SGD, LossScaleOptimizer

    keras.mixed_precision.set_global_policy("mixed_float16")
    model = _model()
    # A loss scale of 2^40 overflows float16 gradients: the first steps are skipped and the scale halves.
    optimizer = LossScaleOptimizer(SGD(0.01), initial_scale=2.0**40)
    model.compile(optimizer, "mse")
    history = fit_resumable(model, _data, steps_per_epoch=4, epochs=8, backup_dir=tmp_path, backup_every=1,
                            verbose=0)
    assert np.isfinite(history.history["loss"]).all() and float(optimizer.dynamic_scale) < 2.0**40
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_a_fit_warns_nothing(tmp_path):
    """The stream is shuffled by its pipeline, so fit's `shuffle` stays off
    (Keras warns on every fit of a dataset otherwise), and its epochs match
    the batches the stream yields (no "ran out of data")."""
    import warnings

    import keras

    from tf_models.training import fit_resumable

    model = _model()
    model.compile(keras.optimizers.SGD(0.01), "mse")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore", DeprecationWarning)  # TensorFlow's, about numpy 2
        warnings.simplefilter("always", UserWarning)  # Keras' (shown in notebooks and terminals)
        fit_resumable(model, _data, steps_per_epoch=4, epochs=2, backup_dir=tmp_path, verbose=0)
    assert [str(w.message) for w in caught if issubclass(w.category, UserWarning)] == []
