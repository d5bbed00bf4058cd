"""CausalLM: the decoder-only model built from the shared encoder layer."""

import keras
import numpy as np
import pytest
from helpers import max_abs_diff

from tf_models.layers import TransformerEncoderLayer
from tf_models.models import CAUSAL_LM_PRESETS, CausalLM
from tf_models.training import MaskedSparseCategoricalCrossentropy

LENGTHS = [7, 4, 1]


def _batch(lengths=LENGTHS, length=7, vocabulary_size=50, seed=0):
    """Right-padded token ids (ids >= 1: 0 is padding) and their padding mask."""
    rng = np.random.default_rng(seed)
    padding_mask = (np.arange(length)[None] < np.array(lengths)[:, None]).astype("int32")
    token_ids = rng.integers(1, vocabulary_size, (len(lengths), length)).astype("int32") * padding_mask
    return {"token_ids": token_ids, "padding_mask": padding_mask}


def _logits(model, inputs):
    return np.asarray(model(inputs, training=False)["logits"])


def test_shapes_and_dtypes_under_each_policy(policy):
    model = CausalLM.from_preset("test")
    logits = model(_batch())["logits"]
    assert logits.shape == (3, 7, 50)
    assert keras.backend.standardize_dtype(logits.dtype) == "float32"  # softmax and loss stay in float32
    assert model.encoder_layers[0].compute_dtype == policy.compute_dtype


def test_training_under_each_policy_gives_a_finite_falling_loss(policy):
    """The compiled task under mixed precision: float16 needs loss scaling
    (the package's `LossScaleOptimizer`, which keeps replicas in step)."""
    from tf_models.training import LossScaleOptimizer, compile_causal_lm

    keras.utils.set_random_seed(0)
    inputs = _batch(lengths=[7, 7, 5, 3], length=7)
    labels = {"logits": np.roll(inputs["token_ids"], -1, axis=1) * inputs["padding_mask"]}
    model = CausalLM.from_preset("test")
    compile_causal_lm(model, total_steps=30, peak_learning_rate=1e-2, warmup_steps=3)
    assert isinstance(model.optimizer, LossScaleOptimizer) == (policy.name == "mixed_float16")
    losses = model.fit(inputs, labels, batch_size=4, epochs=30, verbose=0).history["loss"]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 0.7 * losses[0]


def test_the_stack_is_the_shared_encoder_layer_with_a_causal_mask():
    model = CausalLM.from_preset("test")
    assert {type(layer) for layer in model.encoder_layers} == {TransformerEncoderLayer}
    # Changing a later token changes no earlier position's logits; the changed position's do change.
    inputs = _batch([7, 7, 7])
    changed = {**inputs, "token_ids": inputs["token_ids"].copy()}
    changed["token_ids"][:, 4] = (changed["token_ids"][:, 4] % 49) + 1
    before, after = _logits(model, inputs), _logits(model, changed)
    assert max_abs_diff(before[:, :4], after[:, :4]) == 0.0
    assert max_abs_diff(before[:, 4:], after[:, 4:]) > 1e-4


def test_padding_after_a_sequence_changes_none_of_its_logits():
    model = CausalLM.from_preset("test")
    short = _batch([4], length=4)
    padded = {name: np.pad(value, [(0, 0), (0, 3)]) for name, value in short.items()}
    assert max_abs_diff(_logits(model, short), _logits(model, padded)[:, :4]) < 1e-6


@pytest.mark.parametrize("options", [{}, {"normalize_first": False}])
def test_decode_step_token_by_token_equals_the_full_pass(options):
    # Generation uses the model's own step; it must give the functional graph's
    # logits at every position (the caches are longer than the sequence).
    model = CausalLM.from_preset("test", **options)
    inputs = _batch([7, 7, 7])
    full = _logits(model, inputs)
    caches = model.empty_caches(3, max_length=10)
    for index in range(7):
        logits, caches = model.decode_step(keras.ops.array(inputs["token_ids"][:, index]), index, caches)
        assert max_abs_diff(np.asarray(logits), full[:, index]) < 1e-5, index


def test_keras_file_round_trip(tmp_path):
    model = CausalLM.from_preset("test", dropout=0.1, activation="gelu")
    path = tmp_path / "causal_lm.keras"
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    assert type(restored) is CausalLM and restored.get_config() == model.get_config()
    assert max_abs_diff(_logits(restored, _batch()), _logits(model, _batch())) == 0.0
    assert CausalLM.from_config(model.get_config()).get_config() == model.get_config()


def _analytic_count(vocabulary_size, num_layers, hidden_dim, intermediate_dim, max_sequence_length, **_):
    """Parameters of a pre-norm, tied GPT: embeddings, layers, final norm."""
    h, f = hidden_dim, intermediate_dim
    layer = 4 * (h * h + h) + (2 * h * f + f + h) + 2 * 2 * h
    return vocabulary_size * h + max_sequence_length * h + num_layers * layer + 2 * h


@pytest.mark.parametrize("name", sorted(CAUSAL_LM_PRESETS))
def test_preset_parameter_counts(name):
    count = CausalLM.from_preset(name).count_params()
    assert count == _analytic_count(**vars(CAUSAL_LM_PRESETS[name]))
    if name == "gpt2_small":
        assert count == 124_439_808  # GPT-2 small (Radford et al. 2019), with its 50,257 tokens


def test_fit_learns_to_continue_a_repeating_sequence():
    keras.utils.set_random_seed(0)
    model = CausalLM.from_preset("test")
    cycle = np.tile(np.arange(1, 9, dtype="int32"), 4)  # 1 2 ... 8 1 2 ...
    token_ids = np.stack([np.roll(cycle, -shift)[:16] for shift in range(8)])
    inputs = {"token_ids": token_ids[:, :-1], "padding_mask": np.ones_like(token_ids[:, :-1])}
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss={"logits": MaskedSparseCategoricalCrossentropy()})
    history = model.fit(inputs, {"logits": token_ids[:, 1:]}, epochs=150, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]
    predicted = np.argmax(_logits(model, inputs), -1)
    assert np.mean(predicted == token_ids[:, 1:]) > 0.9


def _uncached_greedy(model, prompt, steps):
    """The reference: the whole model on the growing text, the best non-padding token each time."""
    tokens = np.asarray(prompt)
    for _ in range(steps):
        inputs = {"token_ids": tokens, "padding_mask": np.ones_like(tokens)}
        next_tokens = np.argmax(_logits(model, inputs)[:, -1, 1:], -1) + 1  # padding (0) is never generated
        tokens = np.concatenate([tokens, next_tokens[:, None].astype("int32")], 1)
    return tokens[:, len(prompt[0]):]


@pytest.mark.parametrize("prompt_length", [1, 4])
def test_cached_generation_equals_rerunning_the_model(prompt_length):
    from tf_models.inference import generate

    model = CausalLM.from_preset("test")
    prompt = _batch([prompt_length] * 2, length=prompt_length, seed=3)["token_ids"]
    greedy, _ = generate(model, {"token_ids": prompt}, max_length=6)
    np.testing.assert_array_equal(greedy, _uncached_greedy(model, prompt, 6))
    # The other searches over the same step: one beam, or sampling from the single best token, is greedy.
    beam, _ = generate(model, {"token_ids": prompt}, max_length=6, method="beam", beam_width=1, alpha=0.0)
    sampled, _ = generate(model, {"token_ids": prompt}, max_length=6, method="sample", top_k=1, seed=5)
    np.testing.assert_array_equal(beam, greedy)
    np.testing.assert_array_equal(sampled, greedy)
    # Seeded sampling repeats; wider beams and an end token run too.
    first, _ = generate(model, {"token_ids": prompt}, max_length=6, method="sample", temperature=1.5, seed=9)
    again, _ = generate(model, {"token_ids": prompt}, max_length=6, method="sample", temperature=1.5, seed=9)
    np.testing.assert_array_equal(first, again)
    ids, scores = generate(model, {"token_ids": prompt}, max_length=6, end_id=int(greedy[0, 2]), method="beam",
                           beam_width=3)
    assert ids.shape == (2, 6) and np.all(np.isfinite(scores))


@pytest.mark.parametrize("decoding", [{"method": "greedy"}, {"method": "beam", "beam_width": 3, "alpha": 0.6}])
def test_prompts_of_different_lengths_in_one_batch_generate_what_each_does_alone(decoding):
    from tf_models.inference import generate

    model = CausalLM.from_preset("test")
    prompts = [[5, 9, 11, 7, 3], [8], [12, 4, 6]]
    batch = np.array([p + [0] * (5 - len(p)) for p in prompts], "int32")  # padded after the end
    end_id = 3
    ids, scores = generate(model, {"token_ids": batch}, max_length=[6, 4, 5], end_id=end_id, **decoding)
    assert ids.shape == (3, 6)
    for row, (prompt, limit) in enumerate(zip(prompts, [6, 4, 5])):
        alone_ids, alone_scores = generate(model, {"token_ids": [prompt]}, max_length=limit, end_id=end_id, **decoding)
        np.testing.assert_array_equal(ids[row, :limit], alone_ids[0])
        assert np.all(ids[row, limit:] == 0)
        np.testing.assert_allclose(scores[row], alone_scores[0], rtol=1e-5)
    # The prompt's own tokens are given, never generated: an end token inside it does not stop the text.
    with_end, _ = generate(model, {"token_ids": [[5, end_id, 9], [8, 0, 0]]}, max_length=4, end_id=end_id, **decoding)
    alone, _ = generate(model, {"token_ids": [[5, end_id, 9]]}, max_length=4, end_id=end_id, **decoding)
    np.testing.assert_array_equal(with_end[0], alone[0])
    assert np.any(with_end[0] != 0)


def test_generating_for_an_empty_batch_returns_empty_results():
    from tf_models.inference import generate

    model = CausalLM.from_preset("test")
    ids, scores = generate(model, {"token_ids": np.zeros([0, 0], "int32")}, max_length=4, method="beam", beam_width=2)
    assert ids.shape[0] == 0 and scores.shape == (0,)
