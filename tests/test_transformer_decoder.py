import keras_hub
import numpy as np
import pytest
from helpers import copy_keras_hub_decoder, max_abs_diff, random_floats, run_layer_test

from tf_models.layers import TransformerDecoderLayer


def _inputs():
    return random_floats(2, 6, 16, seed=1), random_floats(2, 5, 16, seed=2)


@pytest.mark.parametrize("normalize_first", [False, True])
def test_matches_keras_hub_decoder(normalize_first):
    target, source = _inputs()
    target_padding = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]])
    source_padding = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    reference = keras_hub.layers.TransformerDecoder(
        intermediate_dim=32, num_heads=4, normalize_first=normalize_first
    )
    expected = reference(
        target, source, decoder_padding_mask=target_padding, encoder_padding_mask=source_padding
    )
    ours = TransformerDecoderLayer(num_heads=4, intermediate_dim=32, normalize_first=normalize_first)
    ours(target, source)
    copy_keras_hub_decoder(reference, ours)
    output = ours(
        target, source, decoder_padding_mask=target_padding, encoder_padding_mask=source_padding
    )
    assert max_abs_diff(output, expected) <= 1e-5


def test_future_positions_do_not_affect_the_past():
    layer = TransformerDecoderLayer(num_heads=2, intermediate_dim=32)
    target, source = _inputs()
    out = np.asarray(layer(target, source))
    for t in range(5):
        changed = target.copy()
        changed[:, t + 1 :] = random_floats(2, 5 - t, 16, seed=t + 10)
        assert max_abs_diff(layer(changed, source)[:, : t + 1], out[:, : t + 1]) <= 1e-5


def test_source_padding_does_not_change_output():
    layer = TransformerDecoderLayer(num_heads=2, intermediate_dim=32)
    target, source = _inputs()
    out = layer(target, source, encoder_padding_mask=np.ones((2, 5)))
    padded = np.concatenate([source, random_floats(2, 2, 16, seed=3)], axis=1)
    mask = np.concatenate([np.ones((2, 5)), np.zeros((2, 2))], axis=1)
    assert max_abs_diff(layer(target, padded, encoder_padding_mask=mask), out) <= 1e-5


@pytest.mark.parametrize("chunk", [1, 2])
def test_cached_decoding_equals_full_pass(chunk):
    layer = TransformerDecoderLayer(num_heads=4, intermediate_dim=32)
    target, source = _inputs()
    source_padding = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    full = np.asarray(layer(target, source, encoder_padding_mask=source_padding))
    self_cache = np.zeros((2, 2, 6, 4, 4), "float32")
    cross_cache = None
    for start in range(0, 6, chunk):
        step, self_cache, cross_cache = layer(
            target[:, start : start + chunk],
            source,
            encoder_padding_mask=source_padding,
            self_attention_cache=self_cache,
            cross_attention_cache=cross_cache,
            cache_update_index=start,
        )
        assert max_abs_diff(step, full[:, start : start + chunk]) <= 1e-5, f"step at {start}"
    assert tuple(cross_cache.shape) == (2, 2, 5, 4, 4)


def test_returns_both_attention_maps():
    layer = TransformerDecoderLayer(num_heads=2, intermediate_dim=32)
    target, source = _inputs()
    _, scores = layer(target, source, return_attention_scores=True)
    assert tuple(scores["self_attention"].shape) == (2, 2, 6, 6)
    assert tuple(scores["cross_attention"].shape) == (2, 2, 6, 5)
    assert np.all(np.asarray(scores["self_attention"])[:, :, 0, 1:] == 0)


def test_layer_contract():
    init_kwargs = {"num_heads": 2, "intermediate_dim": 8, "dropout": 0.1, "normalize_first": True}
    source_padding = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], "int32")
    output = run_layer_test(TransformerDecoderLayer, init_kwargs, _inputs(), {"encoder_padding_mask": source_padding})
    assert tuple(output.shape) == (2, 6, 16)
