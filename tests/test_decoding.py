import numpy as np
import pytest
import tensorflow as tf
from helpers import random_ids

from tf_models.inference import greedy_decode
from tf_models.models import Transformer

START, END = 1, 2


def _naive_greedy(model, source, max_length):
    """Greedy decoding by re-running the whole model on the growing prefix."""
    decoded = np.full((source.shape[0], 1), START, "int32")
    finished = np.zeros(source.shape[0], bool)
    for _ in range(max_length):
        logits = model({"encoder_token_ids": source, "decoder_token_ids": decoded})["logits"]
        token = np.asarray(logits)[:, -1].argmax(-1).astype("int32")
        token[finished] = 0
        finished |= token == END
        decoded = np.concatenate([decoded, token[:, None]], axis=1)
    return decoded[:, 1:]


@pytest.mark.parametrize("options", [{}, {"normalize_first": True, "share_embeddings": False,
                                          "tie_output_embeddings": False}])
def test_cached_greedy_equals_uncached_greedy(options):
    model = Transformer.from_preset("test", **options)
    source = random_ids(4, 7, 50, seed=2)
    source[1, 4:] = 0  # a padded source
    cached = np.asarray(greedy_decode(model, source, START, END, max_length=10))
    np.testing.assert_array_equal(cached, _naive_greedy(model, source, 10))


def test_greedy_runs_inside_a_tf_function_and_stops_at_end():
    model = Transformer.from_preset("test")
    decode = tf.function(
        lambda source: greedy_decode(model, source, START, END, max_length=12),
        input_signature=[tf.TensorSpec([None, None], tf.int32)],
    )
    output = decode(random_ids(3, 5, 50, seed=4)).numpy()
    assert output.shape == (3, 12)
    for row in output:
        if END in row:
            assert np.all(row[list(row).index(END) + 1 :] == 0)
