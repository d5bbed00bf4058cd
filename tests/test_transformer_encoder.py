import keras_hub
import numpy as np
import pytest
from helpers import copy_keras_hub_encoder, max_abs_diff, random_floats, run_layer_test

from tf_models.layers import TransformerEncoderLayer


@pytest.mark.parametrize("normalize_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_matches_keras_hub_encoder(normalize_first, activation):
    x = random_floats(3, 7, 16)
    padding = np.ones((3, 7), "int32")
    padding[0, 4:] = 0
    reference = keras_hub.layers.TransformerEncoder(
        intermediate_dim=32, num_heads=4, activation=activation, normalize_first=normalize_first
    )
    expected = reference(x, padding_mask=padding)
    ours = TransformerEncoderLayer(
        num_heads=4, intermediate_dim=32, activation=activation, normalize_first=normalize_first
    )
    ours(x)
    copy_keras_hub_encoder(reference, ours)
    assert max_abs_diff(ours(x, padding_mask=padding), expected) <= 1e-5


@pytest.mark.parametrize("normalize_first", [False, True])
def test_padding_does_not_change_real_positions(normalize_first):
    layer = TransformerEncoderLayer(num_heads=2, intermediate_dim=32, normalize_first=normalize_first)
    x = random_floats(2, 5, 16)
    out = layer(x, padding_mask=np.ones((2, 5)))
    padded = np.concatenate([x, random_floats(2, 3, 16, seed=5) * 10], axis=1)
    mask = np.concatenate([np.ones((2, 5)), np.zeros((2, 3))], axis=1)
    out_padded = np.asarray(layer(padded, padding_mask=mask))
    assert max_abs_diff(out_padded[:, :5], out) <= 1e-5


def test_attention_mask_and_scores():
    layer = TransformerEncoderLayer(num_heads=2, intermediate_dim=32)
    x = random_floats(2, 4, 16)
    custom = np.tril(np.ones((2, 4, 4), bool))
    out, scores = layer(x, attention_mask=custom, return_attention_scores=True)
    scores = scores["self_attention"]  # the decoder layer's dict, without cross-attention
    assert tuple(scores.shape) == (2, 2, 4, 4)
    assert np.all(np.asarray(scores)[..., np.triu_indices(4, 1)[0], np.triu_indices(4, 1)[1]] == 0)
    # A later position cannot influence an earlier one under this mask.
    changed = x.copy()
    changed[:, 3] += 5.0
    assert max_abs_diff(layer(changed, attention_mask=custom)[:, :3], np.asarray(out)[:, :3]) <= 1e-5


def test_dropout_is_active_only_in_training():
    layer = TransformerEncoderLayer(num_heads=2, intermediate_dim=32, dropout=0.5)
    x = random_floats(2, 4, 16)
    assert max_abs_diff(layer(x), layer(x)) == 0.0
    assert max_abs_diff(layer(x, training=True), layer(x)) > 1e-3


def test_layer_contract():
    init_kwargs = {"num_heads": 2, "intermediate_dim": 8, "dropout": 0.1, "activation": "gelu_approximate",
                   "layer_norm_epsilon": 1e-12, "normalize_first": True, "kernel_initializer": "he_normal"}
    padding = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], "int32")
    output = run_layer_test(TransformerEncoderLayer, init_kwargs, random_floats(2, 4, 16), {"padding_mask": padding})
    assert tuple(output.shape) == (2, 4, 16)
