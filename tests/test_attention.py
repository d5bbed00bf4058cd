import keras
import numpy as np
import pytest
from helpers import copy_keras_attention, max_abs_diff, random_floats, run_layer_test

from tf_models.layers import MultiHeadAttention


def _pair(num_heads=4, hidden_dim=16, query_length=5, key_length=7):
    """A Keras reference attention and ours with the same weights."""
    query = random_floats(2, query_length, hidden_dim, seed=1)
    value = random_floats(2, key_length, hidden_dim, seed=2)
    reference = keras.layers.MultiHeadAttention(num_heads, key_dim=hidden_dim // num_heads)
    reference(query, value)
    ours = MultiHeadAttention(num_heads)
    ours(query, value)
    copy_keras_attention(reference, ours)
    return reference, ours, query, value


def test_matches_keras_multi_head_attention():
    reference, ours, query, value = _pair()
    expected, expected_scores = reference(query, value, return_attention_scores=True)
    output, scores = ours(query, value, return_attention_scores=True)
    assert max_abs_diff(output, expected) <= 1e-5
    assert max_abs_diff(scores, expected_scores) <= 1e-6


def test_matches_keras_with_padding_and_causal_masks():
    reference, ours, query, _ = _pair(query_length=6, key_length=6)
    padding = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], bool)
    keras_mask = np.tril(np.ones((6, 6), bool))[None] & padding[:, None, :]
    expected = reference(query, query, attention_mask=keras_mask)
    output = ours(query, padding_mask=padding, use_causal_mask=True)
    assert max_abs_diff(output, expected) <= 1e-5


def test_masked_keys_get_zero_probability():
    _, ours, query, value = _pair()
    padding = np.array([[1, 1, 1, 0, 0, 0, 0], [1] * 7])
    _, scores = ours(query, value, padding_mask=padding, return_attention_scores=True)
    scores = np.asarray(scores)
    assert np.all(scores[0, :, :, 3:] == 0.0)
    np.testing.assert_allclose(scores.sum(-1), 1.0, atol=1e-6)


def test_changing_masked_values_does_not_change_output():
    _, ours, query, value = _pair()
    padding = np.array([[1, 1, 1, 1, 0, 0, 0]] * 2)
    changed = value.copy()
    changed[:, 4:] = random_floats(2, 3, 16, seed=9) * 100
    assert max_abs_diff(
        ours(query, value, padding_mask=padding), ours(query, changed, padding_mask=padding)
    ) == 0.0


def test_cached_self_attention_equals_full_causal_pass():
    _, ours, query, _ = _pair(query_length=6)
    full = np.asarray(ours(query, use_causal_mask=True))
    cache = np.zeros((2, 2, 6, 4, 4), "float32")
    for t in range(6):
        step, cache = ours(
            query[:, t : t + 1], use_causal_mask=True, cache=cache, cache_update_index=t
        )
        assert max_abs_diff(step[:, 0], full[:, t]) <= 1e-5, f"position {t}"


def test_precomputed_cache_is_reused_as_is():
    _, ours, query, value = _pair()
    cache = ours.compute_key_value_cache(value)
    assert tuple(cache.shape) == (2, 2, 7, 4, 4)
    output, returned = ours(query, cache=cache)
    assert max_abs_diff(output, ours(query, value)) <= 1e-6
    assert max_abs_diff(returned, cache) == 0.0


def test_explicit_head_dim_and_indivisible_width():
    layer = MultiHeadAttention(num_heads=3, head_dim=5)
    assert tuple(layer(random_floats(1, 4, 8)).shape) == (1, 4, 8)
    assert tuple(layer.query_dense.kernel.shape) == (8, 15)
    with pytest.raises(ValueError, match="not divisible"):
        MultiHeadAttention(num_heads=3)(random_floats(1, 4, 8))


def test_half_precision_stays_close_to_float32(policy):
    query = random_floats(2, 5, 16) * 4.0  # large scores stress the softmax
    keras.config.set_dtype_policy("float32")
    reference = MultiHeadAttention(num_heads=2)
    expected = np.asarray(reference(query))
    keras.config.set_dtype_policy(policy)
    layer = MultiHeadAttention(num_heads=2)
    layer(query)
    layer.set_weights(reference.get_weights())
    output = np.asarray(layer(query), "float32")
    assert np.all(np.isfinite(output))
    tolerance = {"float32": 1e-6, "float16": 2e-2, "bfloat16": 2e-1}[policy.compute_dtype]
    assert max_abs_diff(output, expected) <= tolerance * np.abs(expected).max()


def test_the_softmax_runs_in_float32_under_every_policy(policy, monkeypatch):
    """The tolerance above cannot see a bfloat16 softmax (its error is within
    0.2 x max), so watch the dtype that reaches the softmax itself."""
    seen = []
    softmax = keras.ops.softmax

    def recording_softmax(x, *args, **kwargs):
        seen.append(keras.backend.standardize_dtype(x.dtype))
        return softmax(x, *args, **kwargs)

    monkeypatch.setattr(keras.ops, "softmax", recording_softmax)
    MultiHeadAttention(num_heads=2)(random_floats(2, 5, 8))
    assert seen == ["float32"]


def test_layer_contract():
    padding = np.array([[1, 1, 1, 1, 1, 0, 0], [1] * 7], bool)
    output, scores = run_layer_test(
        MultiHeadAttention, {"num_heads": 2, "head_dim": 3, "dropout": 0.1, "use_bias": False},
        (random_floats(2, 5, 8), random_floats(2, 7, 8, seed=1)),
        {"padding_mask": padding, "return_attention_scores": True},
    )
    assert tuple(output.shape) == (2, 5, 8) and tuple(scores.shape) == (2, 2, 5, 7)
