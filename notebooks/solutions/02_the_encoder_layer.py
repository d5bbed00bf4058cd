"""Solutions to the exercises of notebooks/02_the_encoder_layer.ipynb.

One function per exercise; each asserts what a correct solution shows.

    python notebooks/solutions/02_the_encoder_layer.py
    TF_MODELS_QUICK=1 python notebooks/solutions/02_the_encoder_layer.py  # tiny settings, as `make test`

Quick mode trains on a few hundred sequences for a few steps, eagerly
(tracing a training step costs more than the steps themselves): the
models then learn little, and only what holds for any amount of training
is checked there.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import numpy as np

from tf_models.layers import TokenEmbedding, TransformerEmbedding, TransformerEncoderLayer, padding_mask_from_ids

QUICK = os.environ.get("TF_MODELS_QUICK") == "1"
VOCAB, LENGTH, WIDTH = 20, 8, 32  # the notebook's reversal task


def exercise_1_pre_norm_by_hand():
    """Exercise 1 (easy): recompute a pre-norm layer (`normalize_first=True`)
    from its own sublayers, and compare what post-norm and pre-norm leave
    in the residual stream."""
    keras.utils.set_random_seed(0)
    x = keras.random.normal((2, 6, 16), seed=1) * 3.0
    padding_mask = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]]) > 0
    layer = TransformerEncoderLayer(num_heads=2, intermediate_dim=64, normalize_first=True)
    output = np.asarray(layer(x, padding_mask=padding_mask))

    # x <- x + Sublayer(LayerNorm(x)), twice; the residual path itself is never normalised.
    h = x + layer.self_attention(layer.self_attention_norm(x), padding_mask=padding_mask)
    by_hand = np.asarray(h + layer.feed_forward(layer.feed_forward_norm(h)))
    print("pre-norm, max difference from layer(x):", np.abs(by_hand - output).max())
    assert np.abs(by_hand - output).max() < 1e-5

    # Post-norm ends with a LayerNorm: every position has mean 0 and std 1 (the
    # norm's scale and shift start at 1 and 0). Pre-norm's output is the raw
    # residual sum, which is why a pre-norm stack needs a final LayerNorm.
    post = np.asarray(TransformerEncoderLayer(num_heads=2, intermediate_dim=64)(x, padding_mask=padding_mask))
    print(f"std per position: post-norm {post.std(-1).mean():.3f}, pre-norm {output.std(-1).mean():.3f}")
    assert np.allclose(post.mean(-1), 0, atol=1e-4) and np.allclose(post.std(-1), 1, atol=1e-2)
    assert output.std(-1).mean() > 1.5


def reversal_data(count, seed):
    """Random sequences of tokens 1 .. VOCAB - 1 and their reversals."""
    sequences = np.random.default_rng(seed).integers(1, VOCAB, (count, LENGTH)).astype("int32")
    return sequences, sequences[:, ::-1].copy()


def reversal_model(num_layers=1, normalize_first=False, positions=True):
    """The notebook's model: embedding, `num_layers` encoder layers, a Dense classifier."""
    token_ids = keras.Input((LENGTH,), dtype="int32")
    if positions:
        x = TransformerEmbedding(VOCAB, WIDTH)(token_ids)
    else:
        x = TokenEmbedding(VOCAB, WIDTH)(token_ids)  # the same tokens, no position information
    for _ in range(num_layers):
        x = TransformerEncoderLayer(num_heads=1, intermediate_dim=64, normalize_first=normalize_first)(
            x, padding_mask=padding_mask_from_ids(token_ids))
    if normalize_first:
        x = keras.layers.LayerNormalization(epsilon=1e-5)(x)  # a pre-norm stack's final norm
    model = keras.Model(token_ids, keras.layers.Dense(VOCAB)(x))
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], run_eagerly=QUICK)
    return model


def train_reversal(num_layers=1, normalize_first=False, positions=True):
    """Trains a fresh reversal model; returns it, its loss per epoch and its held-out accuracy."""
    keras.utils.set_random_seed(0)
    model = reversal_model(num_layers, normalize_first, positions)
    sequences, targets = reversal_data(256 if QUICK else 4096, seed=0)
    history = model.fit(sequences, targets, batch_size=64, epochs=2 if QUICK else 15, verbose=0)
    held_out, reversed_held_out = reversal_data(128 if QUICK else 512, seed=1)
    _, accuracy = model.evaluate(held_out, reversed_held_out, verbose=0)
    return model, history.history["loss"], accuracy


def exercise_2_post_norm_vs_pre_norm():
    """Exercise 2 (medium): train the reversal task with a deeper stack,
    post-norm against pre-norm, and compare their training losses."""
    num_layers = 2 if QUICK else 4
    uniform = np.log(VOCAB)  # the loss of a model that spreads its bets evenly
    results = {}
    for normalize_first in (False, True):
        _, losses, accuracy = train_reversal(num_layers, normalize_first)
        results["pre-norm" if normalize_first else "post-norm"] = losses
        print(f"{'pre' if normalize_first else 'post'}-norm, {num_layers} layers: loss by epoch "
              f"{np.round(losses, 3).tolist()}, held-out accuracy {accuracy:.1%}")
        assert losses[-1] < losses[0] and losses[-1] < uniform, "the loss went down"
        if not QUICK:
            assert accuracy > 0.9, "either layout learns to reverse given time"
    # Which one is lower, and by how much, depends on depth, learning rate and
    # warm-up: a correct solution reports both curves, measured the same way.
    print("lower final loss:", min(results, key=lambda name: results[name][-1]))


def best_guess_from_the_bag(sequences):
    """The accuracy of the best reversal a model blind to positions can make.

    At position i it knows its own token and the bag of all tokens, not
    where they are: the mirror token is any of the other LENGTH - 1, so its
    best answer is their most frequent token, right with probability
    (that token's count) / (LENGTH - 1).
    """
    total = 0.0
    for sequence in sequences:
        for i in range(LENGTH):
            others = np.delete(sequence, i)
            total += np.bincount(others).max() / len(others)
    return total / (len(sequences) * LENGTH)


def exercise_3_no_positions():
    """Exercise 3 (medium): train the reversal task without position
    information. The model cannot tell the positions apart, so it cannot
    know which token is the mirror of which."""
    model, _, accuracy_without = train_reversal(positions=False)
    _, _, accuracy_with = train_reversal(positions=True)
    bound = best_guess_from_the_bag(reversal_data(128 if QUICK else 512, seed=1)[0])  # the held-out sequences
    print(f"held-out accuracy: with positions {accuracy_with:.1%}, without {accuracy_without:.1%} "
          f"(a random token: {1 / (VOCAB - 1):.1%}; the best guess from the bag of tokens: {bound:.1%})")

    # Whatever it learned, the model without positions is permutation-equivariant:
    # shuffling a sequence shuffles its predictions the same way.
    sequences, _ = reversal_data(4, seed=2)
    order = np.random.default_rng(0).permutation(LENGTH)
    shuffled_first = model.predict(sequences[:, order], verbose=0)
    shuffled_after = model.predict(sequences, verbose=0)[:, order]
    assert np.allclose(shuffled_first, shuffled_after, atol=1e-4)
    # So it can only guess from the sequence's bag of tokens, and no amount of
    # training takes it past the best such guess (up to the noise of a finite test).
    assert accuracy_without < bound + 0.05
    if not QUICK:
        assert accuracy_with > 0.9 > accuracy_without + 0.5


EXERCISES = [exercise_1_pre_norm_by_hand, exercise_2_post_norm_vs_pre_norm, exercise_3_no_positions]


def main():
    for exercise in EXERCISES:
        print(f"\n== {exercise.__name__}")
        exercise()
    print("\nall exercises passed")


if __name__ == "__main__":
    main()
