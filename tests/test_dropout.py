import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import random_floats, run_layer_test

from tf_models.layers import Dropout


def test_identity_at_inference_and_when_the_rate_is_zero():
    x = random_floats(3, 5)
    np.testing.assert_array_equal(Dropout(0.5)(x), x)
    np.testing.assert_array_equal(Dropout(0.0)(x, training=True), x)


def test_drops_the_rate_and_rescales_the_rest():
    dropped = np.asarray(Dropout(0.1, seed=3)(np.ones((200, 500), "float32"), training=True))
    np.testing.assert_allclose(np.unique(dropped), [0.0, 1 / 0.9], rtol=1e-6)
    assert abs((dropped == 0).mean() - 0.1) < 0.005  # 100,000 draws: the std is 0.001
    assert abs(dropped.mean() - 1.0) < 0.01  # the expected value is kept


def test_each_call_draws_a_new_mask_and_a_seed_repeats_the_stream():
    x = np.ones((8, 64), "float32")
    first, second = Dropout(0.5, seed=7), Dropout(0.5, seed=7)
    a, b = np.asarray(first(x, training=True)), np.asarray(first(x, training=True))
    assert (a != b).any()
    np.testing.assert_array_equal(np.asarray(second(x, training=True)), a)


TENSORFLOW_ONLY = pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                                     reason="the TensorFlow backend's Philox path, under tf.function")


@TENSORFLOW_ONLY
def test_masks_differ_between_steps_inside_a_compiled_function():
    layer = Dropout(0.5, seed=1)
    step = tf.function(lambda x: layer(x, training=True), jit_compile=True)
    x = tf.ones((4, 32))
    assert (np.asarray(step(x)) != np.asarray(step(x))).any()


@TENSORFLOW_ONLY
def test_xla_derives_the_random_key_once_not_per_element():
    # keras.layers.Dropout leaves TensorFlow to scramble the seed with
    # StatelessRandomGetKeyCounter, which XLA on CPU fuses into the
    # per-element loop; the check below would catch that regression.
    def optimized_hlo(layer):
        step = tf.function(lambda x: layer(x, training=True), jit_compile=True)
        return step.experimental_get_compiler_ir(tf.ones((4, 4, 32, 32)))(stage="optimized_hlo")

    assert "StatelessRandomGetKeyCounter" in optimized_hlo(keras.layers.Dropout(0.1))
    assert "StatelessRandomGetKeyCounter" not in optimized_hlo(Dropout(0.1))


def test_layer_contract():
    # No weights, so no training step.
    run_layer_test(Dropout, {"rate": 0.3, "seed": 5, "name": "drop"}, random_floats(3, 4), train=False)


@pytest.mark.parametrize("rate", [-0.1, 1.0])
def test_rejects_rates_outside_zero_to_one(rate):
    with pytest.raises(ValueError, match="rate"):
        Dropout(rate)
