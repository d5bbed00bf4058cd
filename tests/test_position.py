import math

import keras
import numpy as np
import pytest
from helpers import random_floats, run_layer_test

from tf_models.layers import PositionEmbedding, SinusoidalPositionEncoding, sinusoidal_position_encoding


def _paper_formula(length, hidden_dim):
    """Section 3.5, written element by element."""
    table = np.zeros((length, hidden_dim))
    for pos in range(length):
        for i in range(hidden_dim):
            angle = pos / 10000 ** (2 * (i // 2) / hidden_dim)
            table[pos, i] = math.sin(angle) if i % 2 == 0 else math.cos(angle)
    return table


def test_sinusoid_matches_paper_formula():
    for hidden_dim in (8, 7):
        np.testing.assert_allclose(
            sinusoidal_position_encoding(40, hidden_dim), _paper_formula(40, hidden_dim), atol=1e-5
        )


def test_start_index_shifts_positions():
    full = np.asarray(sinusoidal_position_encoding(10, 8))
    np.testing.assert_allclose(sinusoidal_position_encoding(3, 8, start_index=5), full[5:8], atol=1e-6)


def test_relative_position_is_a_rotation():
    # PE(pos + k) = R_k PE(pos) for a block-diagonal rotation R_k that
    # depends on k only: the property that lets attention use relative offsets.
    table = np.asarray(sinusoidal_position_encoding(30, 8), "float64")
    k = 4
    for pair in range(4):
        omega = 1.0 / 10000 ** (2 * pair / 8)
        rotation = np.array(
            [[math.cos(k * omega), -math.sin(k * omega)], [math.sin(k * omega), math.cos(k * omega)]]
        )
        sin_cos = table[:, 2 * pair : 2 * pair + 2]
        np.testing.assert_allclose(sin_cos[:-k] @ rotation, sin_cos[k:], atol=1e-5)


def test_layer_returns_encoding_for_input_length(policy):
    x = keras.random.normal((2, 6, 8))
    encoding = SinusoidalPositionEncoding()(x, start_index=2)
    assert encoding.dtype == policy.compute_dtype
    np.testing.assert_allclose(
        np.asarray(encoding, "float32"), _paper_formula(8, 8)[2:8], atol=1e-2
    )


def test_learned_position_embedding_slices_its_table():
    layer = PositionEmbedding(max_sequence_length=10)
    x = keras.random.normal((2, 4, 6))
    out = np.asarray(layer(x, start_index=3))
    np.testing.assert_array_equal(out, np.asarray(layer.embeddings)[3:7])


# The sinusoid has no weights, so no training step.
@pytest.mark.parametrize("layer_class, init_kwargs, train", [
    (SinusoidalPositionEncoding, {"max_wavelength": 500.0}, False),
    (PositionEmbedding, {"max_sequence_length": 12}, True),
])
def test_layer_contract(layer_class, init_kwargs, train):
    encoding = run_layer_test(layer_class, init_kwargs, random_floats(2, 6, 8), train=train)
    assert tuple(encoding.shape) == (6, 8)  # one row per position, broadcast over the batch
