"""Solutions to the exercises of notebooks/01_attention_and_position.ipynb.

One function per exercise; each asserts what a correct solution shows.

    python notebooks/solutions/01_attention_and_position.py
    TF_MODELS_QUICK=1 python notebooks/solutions/01_attention_and_position.py   # tiny settings, as `make test`

Nothing here trains, so both modes run the same (in well under a second).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import numpy as np

from tf_models.layers import MultiHeadAttention, TransformerEncoderLayer, sinusoidal_position_encoding

def softmax(scores):
    """Row-wise softmax; subtracting each row's maximum keeps exp() finite."""
    scores = scores - scores.max(-1, keepdims=True)
    return np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)


def exercise_1_causal_attention_by_hand():
    """Exercise 1 (easy): scaled dot-product attention with a causal mask, by
    hand in NumPy, checked against `MultiHeadAttention(use_causal_mask=True)`."""
    rng = np.random.default_rng(0)
    length, width = 5, 8
    q, k, v = (rng.normal(size=(length, width)).astype("float32") for _ in range(3))

    scores = q @ k.T / np.sqrt(width)  # (queries, keys)
    future = np.triu(np.ones((length, length), bool), k=1)  # key after query
    weights = softmax(np.where(future, -np.inf, scores))  # exp(-inf) = 0: no weight on the future
    by_hand = weights @ v  # (queries, width)

    # One head and identity projections: the layer must compute the same thing.
    attention = MultiHeadAttention(num_heads=1, use_bias=False)
    attention.build((1, length, width), (1, length, width))
    for dense in (attention.query_dense, attention.key_dense, attention.value_dense, attention.output_dense):
        dense.kernel.assign(np.eye(width, dtype="float32"))
    output, probabilities = attention(q[None], value=v[None], key=k[None], use_causal_mask=True,
                                      return_attention_scores=True)
    layer_weights = np.asarray(probabilities)[0, 0]  # (batch, heads, queries, keys) -> (queries, keys)

    print("causal weights by hand:\n", weights.round(3))
    assert np.abs(np.asarray(output)[0] - by_hand).max() < 1e-5
    assert np.abs(layer_weights - weights).max() < 1e-5
    assert np.all(layer_weights[future] == 0), "a query attended to a later key"
    assert np.allclose(layer_weights.sum(-1), 1, atol=1e-6), "rows are distributions"
    # The first query sees only the first key, so its output is exactly that key's value.
    assert np.allclose(by_hand[0], v[0], atol=1e-6)


def exercise_2_why_divide_by_sqrt_dk():
    """Exercise 2 (easy): how large are dot products of random unit-variance
    vectors as d_k grows, and what does the softmax do with and without the
    1/sqrt(d_k) scale?"""
    rng = np.random.default_rng(0)
    widths = (4, 64, 512, 2048)
    keys = 10
    print(f"{'d_k':>6}{'std(q.k)':>10}{'sqrt(d_k)':>11}{'max weight, scaled':>20}{'unscaled':>10}")
    scaled_max, unscaled_max = [], []
    for d_k in widths:
        q = rng.normal(size=(200, 1, d_k))
        k = rng.normal(size=(200, keys, d_k))
        dots = (q * k).sum(-1)  # (200 queries, 10 keys)
        scaled_max.append(softmax(dots / np.sqrt(d_k)).max(-1).mean())
        unscaled_max.append(softmax(dots).max(-1).mean())
        print(f"{d_k:>6}{dots.std():>10.2f}{np.sqrt(d_k):>11.2f}{scaled_max[-1]:>20.2f}{unscaled_max[-1]:>10.2f}")
        assert abs(dots.std() / np.sqrt(d_k) - 1) < 0.1, "the dot product's std grows like sqrt(d_k)"
    # Scaled: the attention stays spread over the keys at every width. Unscaled:
    # one key takes almost all the weight (the softmax saturates, its gradients vanish).
    assert max(scaled_max) - min(scaled_max) < 0.1 and max(scaled_max) < 0.6
    assert unscaled_max[-1] > 0.9


def exercise_3_attention_ignores_order():
    """Exercise 3 (medium): without position information an encoder layer is
    permutation-equivariant: shuffling the inputs shuffles the outputs the
    same way. Adding the sinusoidal encoding breaks that."""
    keras.utils.set_random_seed(0)
    length, width = 6, 16
    layer = TransformerEncoderLayer(num_heads=2, intermediate_dim=32)
    x = np.asarray(keras.random.normal((1, length, width), seed=1))
    order = np.random.default_rng(0).permutation(length)

    shuffled_first = np.asarray(layer(x[:, order]))
    shuffled_after = np.asarray(layer(x))[:, order]
    print("without positions: max difference", np.abs(shuffled_first - shuffled_after).max())
    assert np.allclose(shuffled_first, shuffled_after, atol=1e-5), "attention alone sees a bag of tokens"

    # Positions belong to the slots, not to the tokens: shuffle the tokens, then add.
    pe = np.asarray(sinusoidal_position_encoding(length, width))[None]
    with_positions_first = np.asarray(layer(x[:, order] + pe))
    with_positions_after = np.asarray(layer(x + pe))[:, order]
    difference = np.abs(with_positions_first - with_positions_after).max()
    print("with positions:    max difference", difference)
    assert difference > 1e-2, "with positions, order changes the outputs"


def exercise_4_position_encoding_base():
    """Exercise 4 (medium): change the base (`max_wavelength`) of the
    sinusoidal encoding and see what it does to the similarity of nearby
    and distant positions."""
    width, length = 128, 160
    bases = (10.0, 100.0, 10000.0, 1e6)
    offsets = (1, 4, 32)
    similarity = {}
    print(f"{'base':>9}" + "".join(f"{'offset ' + str(k):>11}" for k in offsets))
    for base in bases:
        pe = np.array(sinusoidal_position_encoding(length, width, max_wavelength=base))
        pe /= np.linalg.norm(pe, axis=-1, keepdims=True)  # cosine similarity
        for k in offsets:
            at_0, at_40 = pe[0] @ pe[k], pe[40] @ pe[40 + k]
            assert abs(at_0 - at_40) < 1e-4, "similarity depends on the offset only, whatever the base"
            similarity[base, k] = at_0
        print(f"{base:>9g}" + "".join(f"{similarity[base, k]:>11.3f}" for k in offsets))
    # A small base has short wavelengths: neighbours already differ and the
    # similarity is near 0 a few positions away (distant offsets all look
    # alike). A large base keeps even distant positions similar.
    for k in offsets:
        values = [similarity[base, k] for base in bases]
        assert values == sorted(values), f"at offset {k}, similarity grows with the base"
    assert abs(similarity[10.0, 32]) < 0.1 < similarity[1e6, 32]


EXERCISES = [exercise_1_causal_attention_by_hand, exercise_2_why_divide_by_sqrt_dk,
             exercise_3_attention_ignores_order, exercise_4_position_encoding_base]


def main():
    for exercise in EXERCISES:
        print(f"\n== {exercise.__name__}")
        exercise()
    print("\nall exercises passed")


if __name__ == "__main__":
    main()
