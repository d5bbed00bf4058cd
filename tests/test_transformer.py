import keras
import numpy as np
import pytest
from helpers import max_abs_diff, random_ids

from tf_models.models import TRANSFORMER_PRESETS, Transformer

VOCAB = 50  # the "test" preset's vocabulary


def _batch(batch=3, source_length=7, target_length=6, seed=0, target_vocabulary_size=40):
    return {
        "encoder_token_ids": random_ids(batch, source_length, VOCAB, seed=seed),
        # Valid ids for the smaller target vocabulary of some variants too.
        "decoder_token_ids": random_ids(batch, target_length, target_vocabulary_size, seed=seed + 1),
    }


def _logits(model, inputs):
    return np.asarray(model(inputs)["logits"])


def test_output_shape_and_dtype(policy):
    model = Transformer.from_preset("test")
    logits = model(_batch())["logits"]
    assert tuple(logits.shape) == (3, 6, VOCAB)
    assert logits.dtype == "float32"  # float32 logits under every policy


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"share_embeddings": False, "target_vocabulary_size": 40},
        {"share_embeddings": False, "target_vocabulary_size": 40, "tie_output_embeddings": False},
        {"normalize_first": True},
    ],
    ids=["shared-tied", "separate-tied", "separate-untied", "pre-norm"],
)
def test_variants_build_and_stay_causal(options):
    model = Transformer.from_preset("test", **options)
    inputs = _batch()
    logits = _logits(model, inputs)
    assert logits.shape == (3, 6, options.get("target_vocabulary_size", VOCAB))
    changed = dict(inputs, decoder_token_ids=inputs["decoder_token_ids"].copy())
    changed["decoder_token_ids"][:, 3:] = random_ids(3, 3, 40, seed=7)
    assert max_abs_diff(_logits(model, changed)[:, :3], logits[:, :3]) <= 1e-5


def test_weight_sharing_options_change_parameter_counts():
    shared = Transformer.from_preset("test").count_params()
    separate = Transformer.from_preset("test", share_embeddings=False).count_params()
    untied = Transformer.from_preset(
        "test", share_embeddings=False, tie_output_embeddings=False
    ).count_params()
    assert separate - shared == VOCAB * 16
    assert untied - separate == VOCAB * 16 + VOCAB


def test_share_embeddings_needs_one_vocabulary():
    with pytest.raises(ValueError, match="share_embeddings"):
        Transformer.from_preset("test", target_vocabulary_size=40)


def test_source_padding_does_not_change_logits():
    model = Transformer.from_preset("test")
    inputs = _batch()
    padded = dict(inputs)
    padded["encoder_token_ids"] = np.pad(inputs["encoder_token_ids"], ((0, 0), (0, 4)))
    assert max_abs_diff(_logits(model, padded), _logits(model, inputs)) <= 1e-5


def test_target_padding_does_not_change_real_positions():
    model = Transformer.from_preset("test")
    inputs = _batch()
    padded = dict(inputs)
    padded["decoder_token_ids"] = np.pad(inputs["decoder_token_ids"], ((0, 0), (0, 3)))
    assert max_abs_diff(_logits(model, padded)[:, :6], _logits(model, inputs)) <= 1e-5


def test_fit_reduces_loss_on_a_fixed_batch():
    model = Transformer.from_preset("test")
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss={"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True)},
    )
    inputs = _batch(batch=8)
    labels = random_ids(8, 6, VOCAB, seed=3)
    losses = model.fit(inputs, {"logits": labels}, epochs=15, verbose=0).history["loss"]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 0.7 * losses[0], losses


def test_keras_file_round_trip(tmp_path):
    model = Transformer.from_preset("test", normalize_first=True, share_embeddings=False)
    inputs = _batch()
    path = tmp_path / "transformer.keras"
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    assert type(restored) is Transformer
    assert restored.get_config() == model.get_config()
    assert max_abs_diff(_logits(restored, inputs), _logits(model, inputs)) == 0.0


def test_config_round_trip():
    model = Transformer.from_preset("test", dropout=0.2, activation="gelu")
    assert Transformer.from_config(model.get_config()).get_config() == model.get_config()


def _analytic_count(vocabulary_size, num_layers, hidden_dim, intermediate_dim, **_):
    """Parameters of a shared-vocabulary, tied, post-norm Transformer."""
    h, f = hidden_dim, intermediate_dim
    attention = 4 * (h * h + h)
    feed_forward = 2 * h * f + f + h
    layer_norm = 2 * h
    encoder_layer = attention + feed_forward + 2 * layer_norm
    decoder_layer = 2 * attention + feed_forward + 3 * layer_norm
    return vocabulary_size * h + num_layers * (encoder_layer + decoder_layer)


@pytest.mark.parametrize("name, paper_count", [("base", 65e6), ("big", 213e6)])
def test_preset_parameter_counts_match_the_paper(name, paper_count):
    model = Transformer.from_preset(name)
    count = model.count_params()
    assert count == _analytic_count(**vars(TRANSFORMER_PRESETS[name]))
    # Vaswani et al. 2017, Table 3 (37k shared BPE vocabulary).
    assert abs(count - paper_count) / paper_count < 0.04, count


@pytest.mark.parametrize("options", [{}, {"normalize_first": True, "share_embeddings": False,
                                          "tie_output_embeddings": False, "target_vocabulary_size": 40}])
def test_decode_step_token_by_token_equals_the_full_pass(options):
    # The model's own incremental step (what every decoder uses) must give the
    # logits of the functional graph at every position, whatever the config.
    model = Transformer.from_preset("test", **options)
    source = keras.ops.array([[5, 6, 7, 8, 0], [9, 10, 0, 0, 0]])
    target = keras.ops.array([[1, 11, 12, 13], [1, 14, 15, 16]])
    full = model({"encoder_token_ids": source, "decoder_token_ids": target})["logits"]  # (B, T, V)
    output, mask = model.encode(source)
    cross = model.cross_attention_caches(output)
    caches = model.empty_caches(2, max_length=4)
    for index in range(4):
        logits, caches = model.decode_step(target[:, index], index, caches, cross, mask)
        assert logits.dtype == "float32"
        np.testing.assert_allclose(logits, full[:, index], atol=1e-5, err_msg=f"position {index}")
