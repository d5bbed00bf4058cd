"""Checkpoint averaging: epoch-end snapshots and the mean of their weights."""

import keras
import numpy as np
import pytest
from helpers import random_ids

from tf_models.models import Transformer
from tf_models.training.averaging import EpochSnapshots, average_weights, snapshot_path


def _trained_snapshots(folder, epochs, keep=None):
    """A `test` Transformer trained `epochs` short epochs with `EpochSnapshots`."""
    model = Transformer.from_preset("test", vocabulary_size=40, dropout=0.1)
    model.compile("adam", {"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True)})
    inputs = {"encoder_token_ids": random_ids(8, 6, 40), "decoder_token_ids": random_ids(8, 5, 40, seed=1)}
    model.fit(inputs, {"logits": random_ids(8, 5, 40, seed=2)}, epochs=epochs, batch_size=4, verbose=0,
              callbacks=[EpochSnapshots(folder, keep=keep)])
    return model


def test_snapshots_keep_the_last_epochs_only(tmp_path):
    _trained_snapshots(tmp_path, epochs=4, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_0003.weights.h5", "epoch_0004.weights.h5"]


def _trainable_values(model):
    return [np.asarray(v.value, np.float64) for v in model.trainable_variables]


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_the_average_is_the_mean_of_each_files_weights(tmp_path, policy):
    keras.config.set_dtype_policy(policy)
    try:
        model = _trained_snapshots(tmp_path, epochs=3)
        files = [snapshot_path(tmp_path, epoch) for epoch in (1, 2, 3)]
        # The reference: each file read on its own, averaged with NumPy.
        each = []
        for path in files:
            model.load_weights(str(path))
            each.append(_trainable_values(model))
        last_other = [np.asarray(v.value) for v in model.non_trainable_variables]
        assert not np.allclose(each[0][0], each[2][0])  # the epochs did move the weights
        model.load_weights(str(files[0]))  # whatever the model holds before does not matter
        average_weights(model, files)
        for variable, *values in zip(model.trainable_variables, *each):
            assert variable.dtype == "float32"  # variables stay float32 under a mixed policy
            np.testing.assert_allclose(np.asarray(variable.value), np.mean(values, axis=0), rtol=1e-6, atol=1e-7)
        for variable, value in zip(model.non_trainable_variables, last_other):
            np.testing.assert_array_equal(np.asarray(variable.value), value)  # seed states: the last file's
    finally:
        keras.config.set_dtype_policy("float32")


def test_averaging_nothing_is_refused():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="at least one"):
        average_weights(model, [])
