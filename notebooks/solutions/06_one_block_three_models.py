"""Solutions to the exercises of notebooks/06_one_block_three_models.ipynb.

One function per exercise; each asserts what a correct solution shows.

    python notebooks/solutions/06_one_block_three_models.py
    TF_MODELS_QUICK=1 python notebooks/solutions/06_one_block_three_models.py  # tiny settings, as `make test`

Quick mode trains exercise 2's model for a few steps, eagerly (tracing a
training step would take longer than the steps): it then learns little,
and only what holds for any amount of training is checked. It also counts
the parameters of smaller presets than BERT-Base and GPT-2.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import numpy as np

from tf_models.layers import PositionEmbedding, TokenEmbedding, TransformerDecoderLayer, TransformerEncoderLayer
from tf_models.models import BERT_PRESETS, CAUSAL_LM_PRESETS, BertBackbone, CausalLM, Transformer

QUICK = os.environ.get("TF_MODELS_QUICK") == "1"


def exercise_1_what_each_position_sees():
    """Exercise 1 (easy): change the last token of an input and find which
    positions' outputs change, in BERT, the CausalLM and the Transformer's decoder."""
    keras.utils.set_random_seed(0)
    ids = np.array([[12, 47, 5, 28, 9, 31]], "int32")
    changed = ids.copy()
    changed[0, -1] = 7

    bert = BertBackbone.from_preset("test", vocabulary_size=50, max_sequence_length=16)

    def bert_outputs(token_ids):
        return np.asarray(bert({"token_ids": token_ids, "segment_ids": np.zeros_like(token_ids),
                                "padding_mask": np.ones_like(token_ids)})["sequence_output"])

    gpt = CausalLM.from_preset("test", vocabulary_size=50)

    def gpt_outputs(token_ids):
        return np.asarray(gpt({"token_ids": token_ids, "padding_mask": np.ones_like(token_ids)})["logits"])

    transformer = Transformer.from_preset("test", vocabulary_size=50)
    source = np.array([[5, 6, 7, 8]], "int32")

    def decoder_outputs(target_ids, source_ids=source):
        return np.asarray(transformer({"encoder_token_ids": source_ids, "decoder_token_ids": target_ids})["logits"])

    def moved(a, b):  # which positions' outputs changed
        return np.abs(a - b).max(-1)[0] > 1e-5

    print("positions whose output changes when the last token changes (1 = changed):")
    for name, run in (("BERT", bert_outputs), ("CausalLM", gpt_outputs), ("Transformer decoder", decoder_outputs)):
        print(f"  {name:<20}", moved(run(ids), run(changed)).astype(int))
    # Bidirectional: every position reads the last token. Causal: only the last position does.
    assert moved(bert_outputs(ids), bert_outputs(changed)).all()
    assert moved(gpt_outputs(ids), gpt_outputs(changed)).tolist() == [False] * 5 + [True]
    assert moved(decoder_outputs(ids), decoder_outputs(changed)).tolist() == [False] * 5 + [True]
    # Cross-attention is not causal: every target position reads the whole source.
    other_source = source.copy()
    other_source[0, -1] = 9
    assert moved(decoder_outputs(ids), decoder_outputs(ids, other_source)).all()


TEXT = "the cat sat on the mat. the dog sat on the log. "  # a text to learn by heart


def my_causal_lm(vocabulary_size, num_layers=2, hidden_dim=32, length=64):
    """A decoder-only language model made of the package's encoder layer: token and
    learned position embeddings, pre-norm layers called with a causal mask, a final
    LayerNorm and an output layer tied to the token embedding (GPT-2's layout)."""
    token_ids = keras.Input((None,), dtype="int32")
    embedding = TokenEmbedding(vocabulary_size, hidden_dim)
    x = embedding(token_ids)
    x = x + PositionEmbedding(length)(x)
    for _ in range(num_layers):
        x = TransformerEncoderLayer(num_heads=4, intermediate_dim=4 * hidden_dim, normalize_first=True,
                                    activation="gelu")(x, use_causal_mask=True)
    x = keras.layers.LayerNormalization(epsilon=1e-5)(x)
    return keras.Model(token_ids, embedding(x, reverse=True))  # (batch, length, vocabulary) logits


def exercise_2_build_a_causal_lm_and_generate():
    """Exercise 2 (medium): build a decoder-only language model from
    `TransformerEncoderLayer`, train it on characters and generate greedily."""
    keras.utils.set_random_seed(0)
    characters = sorted(set(TEXT))
    ids = np.array([characters.index(c) for c in TEXT * 40], "int32")
    length = 32
    windows = np.stack([ids[i : i + length + 1] for i in range(0, len(ids) - length - 1, 3)])
    inputs, targets = windows[:, :-1], windows[:, 1:]  # predict every next character

    model = my_causal_lm(len(characters), length=length)
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  run_eagerly=QUICK)
    history = model.fit(inputs, targets, batch_size=32, epochs=3 if QUICK else 30,
                        steps_per_epoch=2 if QUICK else None, verbose=0)
    losses = history.history["loss"]
    print("loss by epoch:", np.round(losses, 3).tolist(), f"(a uniform guess: {np.log(len(characters)):.3f})")
    assert losses[-1] < losses[0], "the loss went down"

    # Causal: what a position predicts never depends on a later character.
    probe = inputs[:1].copy()
    before = np.asarray(model(probe))
    probe[0, -1] = (probe[0, -1] + 1) % len(characters)
    assert np.abs(np.asarray(model(probe))[0, :-1] - before[0, :-1]).max() < 1e-5

    # Greedy generation: rerun the model on the text so far, append its likeliest next character.
    prompt = "the dog "
    generated = [characters.index(c) for c in prompt]
    for _ in range(24):
        logits = np.asarray(model(np.array([generated[-length:]], "int32")))[0, -1]
        generated.append(int(np.argmax(logits)))
    continuation = "".join(characters[i] for i in generated[len(prompt):])
    print(f"{prompt!r} -> {continuation!r}")
    start = TEXT.index(prompt) + len(prompt)
    if not QUICK:
        assert continuation == (TEXT * 2)[start : start + 24], "it learned the text by heart"


def exercise_3_count_parameters():
    """Exercise 3 (easy): count an encoder layer's and a decoder layer's
    parameters with a formula, and BERT's and GPT-2's from their layers and embeddings."""
    def encoder_layer(d, f):  # Q, K, V, O (weights and biases), FFN in and out, two LayerNorms
        return 4 * (d * d + d) + (d * f + f) + (f * d + d) + 2 * (2 * d)

    def decoder_layer(d, f):  # plus cross-attention and its LayerNorm
        return encoder_layer(d, f) + 4 * (d * d + d) + 2 * d

    d, f = (128, 512) if QUICK else (768, 3072)
    layer = TransformerEncoderLayer(num_heads=4, intermediate_dim=f)
    layer.build((None, None, d))
    decoder = TransformerDecoderLayer(num_heads=4, intermediate_dim=f)
    decoder.build((None, None, d), (None, None, d))
    print(f"width {d}: encoder layer {layer.count_params():,}, decoder layer {decoder.count_params():,}")
    assert layer.count_params() == encoder_layer(d, f) and decoder.count_params() == decoder_layer(d, f)

    name = "tiny" if QUICK else "base"
    c = BERT_PRESETS[name]
    embeddings = (c.vocabulary_size + c.max_sequence_length + c.num_segments) * c.hidden_dim + 2 * c.hidden_dim
    pooler = c.hidden_dim * c.hidden_dim + c.hidden_dim
    bert = embeddings + c.num_layers * encoder_layer(c.hidden_dim, c.intermediate_dim) + pooler
    built = BertBackbone.from_preset(name).count_params()
    print(f"BERT {name}: {bert:,} by formula, {built:,} built")
    assert bert == built

    name = "tiny" if QUICK else "gpt2_small"
    c = CAUSAL_LM_PRESETS[name]
    # The output layer reuses the token table; one more LayerNorm after the last layer.
    gpt = ((c.vocabulary_size + c.max_sequence_length) * c.hidden_dim
           + c.num_layers * encoder_layer(c.hidden_dim, c.intermediate_dim) + 2 * c.hidden_dim)
    built = CausalLM.from_preset(name).count_params()
    print(f"CausalLM {name}: {gpt:,} by formula, {built:,} built")
    assert gpt == built


EXERCISES = [exercise_1_what_each_position_sees, exercise_2_build_a_causal_lm_and_generate,
             exercise_3_count_parameters]


def main():
    for exercise in EXERCISES:
        print(f"\n== {exercise.__name__}")
        exercise()
    print("\nall exercises passed")


if __name__ == "__main__":
    main()
