import math

import keras
import numpy as np
import pytest
from helpers import random_ids, run_layer_test

from tf_models.layers import (
    BertEmbedding,
    TokenEmbedding,
    TransformerEmbedding,
    sinusoidal_position_encoding,
)


def test_token_embedding_forward_and_tied_reverse(policy):
    layer = TokenEmbedding(vocabulary_size=20, hidden_dim=8)
    ids = random_ids(2, 5, 20)
    hidden = layer(ids)
    assert hidden.dtype == policy.compute_dtype
    logits = layer(hidden, reverse=True)
    # Projected in the compute dtype, returned as float32.
    assert logits.dtype == "float32" and tuple(logits.shape) == (2, 5, 20)
    table = np.asarray(layer.embeddings)
    expected = np.asarray(hidden, "float32") @ table.T
    tolerance = 1e-5 if policy.compute_dtype == "float32" else 2e-2 * np.abs(expected).max()
    np.testing.assert_allclose(np.asarray(logits), expected, rtol=1e-2, atol=tolerance)
    if policy.compute_dtype != "float32":  # every logit was a value of the compute dtype
        rounded = keras.ops.cast(keras.ops.cast(logits, policy.compute_dtype), "float32")
        np.testing.assert_array_equal(np.asarray(rounded), np.asarray(logits))


def test_transformer_embedding_scales_tokens_and_adds_sinusoid():
    layer = TransformerEmbedding(vocabulary_size=20, hidden_dim=8)
    ids = random_ids(2, 5, 20)
    out = np.asarray(layer(ids))
    table = np.asarray(layer.token_embedding.embeddings)
    expected = table[ids] * math.sqrt(8) + np.asarray(sinusoidal_position_encoding(5, 8))
    np.testing.assert_allclose(out, expected, atol=1e-5)
    # The paper's init keeps scaled token embeddings at unit scale.
    assert abs(table.std() * math.sqrt(8) - 1.0) < 0.2


def test_transformer_embedding_start_index_for_decoding():
    layer = TransformerEmbedding(vocabulary_size=20, hidden_dim=8)
    ids = random_ids(1, 6, 20)
    np.testing.assert_allclose(layer(ids[:, 4:5], start_index=4), np.asarray(layer(ids))[:, 4:5], atol=1e-6)


def test_bert_embedding_is_layer_norm_of_three_sums():
    layer = BertEmbedding(vocabulary_size=20, hidden_dim=8, max_sequence_length=10)
    ids = random_ids(2, 5, 20)
    segments = np.array([[0, 0, 1, 1, 1]] * 2)
    out = np.asarray(layer(ids, segments))
    total = (
        np.asarray(layer.token_embedding.embeddings)[ids]
        + np.asarray(layer.segment_embedding.embeddings)[segments]
        + np.asarray(layer.position_embedding.embeddings)[:5]
    )
    mean, var = total.mean(-1, keepdims=True), total.var(-1, keepdims=True)
    np.testing.assert_allclose(out, (total - mean) / np.sqrt(var + 1e-12), atol=1e-4)


@pytest.mark.parametrize("layer_class, init_kwargs, inputs", [
    (TokenEmbedding, {"vocabulary_size": 10, "hidden_dim": 4}, random_ids(2, 5, 10)),
    (TransformerEmbedding, {"vocabulary_size": 10, "hidden_dim": 4, "dropout": 0.2}, random_ids(2, 5, 10)),
    (BertEmbedding, {"vocabulary_size": 10, "hidden_dim": 4, "max_sequence_length": 16, "num_segments": 3,
                     "dropout": 0.1}, (random_ids(2, 5, 10), random_ids(2, 5, 3, low=0))),
])
def test_layer_contract(layer_class, init_kwargs, inputs):
    assert tuple(run_layer_test(layer_class, init_kwargs, inputs).shape) == (2, 5, 4)
