import numpy as np
from helpers import random_floats, run_layer_test

from tf_models.layers import FeedForward, get_activation


def test_is_two_dense_layers_around_the_activation():
    layer = FeedForward(intermediate_dim=12, activation="relu")
    x = random_floats(2, 3, 4)
    out = np.asarray(layer(x))
    w1, b1 = np.asarray(layer.intermediate_dense.kernel), np.asarray(layer.intermediate_dense.bias)
    w2, b2 = np.asarray(layer.output_dense.kernel), np.asarray(layer.output_dense.bias)
    np.testing.assert_allclose(out, np.maximum(x @ w1 + b1, 0) @ w2 + b2, atol=1e-5)


def test_gelu_variants_differ_slightly():
    x = np.linspace(-3, 3, 13).astype("float32")
    exact = np.asarray(get_activation("gelu")(x))
    approximate = np.asarray(get_activation("gelu_approximate")(x))
    assert 0 < np.abs(exact - approximate).max() < 1e-3


def test_layer_contract():
    init_kwargs = {"intermediate_dim": 8, "activation": "gelu_approximate"}
    assert tuple(run_layer_test(FeedForward, init_kwargs, random_floats(2, 3, 4)).shape) == (2, 3, 4)
