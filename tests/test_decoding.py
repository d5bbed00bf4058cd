import numpy as np
import pytest
import tensorflow as tf
from helpers import random_ids

from tf_models.inference import beam_search, generate, greedy_search, sample, uncached_greedy_decode
from tf_models.inference.decoding import _filter_logits, length_penalty
from tf_models.models import Transformer

START, END = 1, 2


def translate(model, source, max_length, method="greedy", **options):
    """`generate` with a `Transformer`: every target starts with START and ends at END."""
    source = tf.convert_to_tensor(source, tf.int32)
    starts = tf.fill([tf.shape(source)[0], 1], START)
    return generate(model, {"encoder_token_ids": source, "decoder_token_ids": starts}, max_length, END, method,
                    **options)


def _naive_greedy(model, source, max_length):
    """Greedy decoding in NumPy, re-running the whole model on the prefix."""
    decoded = np.full((source.shape[0], 1), START, "int32")
    finished = np.zeros(source.shape[0], bool)
    for _ in range(max_length):
        logits = model({"encoder_token_ids": source, "decoder_token_ids": decoded})["logits"]
        logits = np.array(logits)[:, -1]
        logits[:, 0] = -np.inf  # the padding id is never generated
        token = logits.argmax(-1).astype("int32")
        token[finished] = 0
        finished |= token == END
        decoded = np.concatenate([decoded, token[:, None]], axis=1)
    return decoded[:, 1:]


def _table_step(probabilities):
    """A step function over a hand-made Markov chain: next given last token."""
    table = tf.math.log(tf.constant(probabilities, tf.float32))
    return lambda tokens, index, cache: (tf.gather(table, tokens), cache)


# From token 0: greedy takes 3 (0.6), then can only reach END with 0.3 or go
# on; the best sequence is "2 END" (0.4 * 0.9 = 0.36).
CHAIN = [
    [0.0, 0.0, 0.4, 0.6],
    [0.0, 1.0, 0.0, 0.0],
    [0.0, 0.9, 0.05, 0.05],
    [0.0, 0.3, 0.4, 0.3],
]


@pytest.fixture(scope="module")
def model():
    return Transformer.from_preset("test")


@pytest.fixture(scope="module")
def source():
    ids = random_ids(4, 7, 50, seed=2, low=3)
    ids[1, 4:] = 0  # a padded source
    ids[3, 2:] = 0
    return ids


@pytest.mark.parametrize("options", [{}, {"normalize_first": True, "share_embeddings": False,
                                          "tie_output_embeddings": False}])
def test_cached_greedy_equals_uncached_greedy(options, source):
    model = Transformer.from_preset("test", **options)
    cached, cached_scores = translate(model, source, max_length=10)
    uncached, uncached_scores = uncached_greedy_decode(model, source, START, END, max_length=10)
    np.testing.assert_array_equal(cached, _naive_greedy(model, source, 10))
    np.testing.assert_array_equal(cached, uncached)
    np.testing.assert_allclose(cached_scores, uncached_scores, atol=1e-4)


def test_greedy_scores_are_the_log_probabilities_of_the_output(model, source):
    ids, scores = translate(model, source, max_length=6)
    decoder_input = np.concatenate([np.full((4, 1), START, "int32"), np.asarray(ids)[:, :-1]], axis=1)
    logits = model({"encoder_token_ids": source, "decoder_token_ids": decoder_input})["logits"]
    logits = np.array(logits)
    logits[..., 0] = -np.inf  # the padding id is never generated
    log_probs = np.take_along_axis(np.asarray(tf.nn.log_softmax(logits)), np.asarray(ids)[..., None], -1)[..., 0]
    generated = np.cumsum(np.asarray(ids) == END, axis=1) - (np.asarray(ids) == END) == 0  # up to END
    np.testing.assert_allclose(scores, (log_probs * generated).sum(1), atol=1e-4)


@pytest.mark.parametrize("method", ["greedy", "beam", "sample"])
def test_decoding_runs_in_a_tf_function_and_pads_after_end(model, method):
    options = {"beam_width": 3} if method == "beam" else {}
    run = tf.function(
        lambda source: translate(model, source, 12, method, **options),
        input_signature=[tf.TensorSpec([None, None], tf.int32)],
    )
    ids, scores = run(random_ids(3, 5, 50, seed=4))
    assert ids.shape == (3, 12) and ids.dtype == tf.int32 and scores.shape == (3,)
    for row in ids.numpy():
        if END in row:
            assert np.all(row[list(row).index(END) + 1 :] == 0)
    empty_ids, empty_scores = run(tf.zeros([0, 5], tf.int32))
    assert empty_ids.shape[0] == 0 and empty_scores.shape == (0,)


def test_beam_width_one_without_length_penalty_equals_greedy(model, source):
    greedy, greedy_scores = translate(model, source, max_length=9)
    beam, beam_scores = translate(model, source, 9, "beam", beam_width=1, alpha=0.0)
    np.testing.assert_array_equal(beam, greedy)
    np.testing.assert_allclose(beam_scores, greedy_scores, atol=1e-4)


def test_beam_search_finds_the_best_sequence_greedy_misses():
    step = _table_step(CHAIN)
    greedy, greedy_score = greedy_search(step, (), [0], END - 1, max_length=3)
    beam, beam_score = beam_search(step, (), [0], END - 1, max_length=3, beam_width=2, alpha=0.0)
    assert greedy.numpy().tolist() == [[3, 2, 1]]  # 0.6 * 0.4 * 0.9 = 0.216
    assert beam.numpy().tolist() == [[2, 1, 0]]  # 0.4 * 0.9 = 0.36
    np.testing.assert_allclose(beam_score, [np.log(0.36)], rtol=1e-5)
    np.testing.assert_allclose(greedy_score, [np.log(0.216)], rtol=1e-5)


def test_length_penalty_favours_longer_hypotheses():
    # "1" ends at once with 0.5; "2 1" has 0.45. Raw: the short one wins;
    # with alpha = 1 the penalty (5 + |Y|) / 6 lets the longer one win.
    step = _table_step([[0.0, 0.5, 0.45, 0.05], [0.0, 1.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0],
                        [0.0, 1.0, 0.0, 0.0]])
    raw, _ = beam_search(step, (), [0], 1, max_length=3, beam_width=2, alpha=0.0)
    penalized, score = beam_search(step, (), [0], 1, max_length=3, beam_width=2, alpha=1.0)
    assert raw.numpy().tolist() == [[1, 0, 0]]
    assert penalized.numpy().tolist() == [[2, 1, 0]]
    np.testing.assert_allclose(score, [np.log(0.45) / length_penalty(2, 1.0)], rtol=1e-5)


def test_beam_search_returns_the_best_live_beam_when_nothing_finished():
    step = _table_step([[0.0, 0.0, 0.6, 0.4]] * 4)  # END is never produced
    ids, score = beam_search(step, (), [0, 0], 1, max_length=3, beam_width=2, alpha=0.6)
    assert ids.numpy().tolist() == [[2, 2, 2], [2, 2, 2]]
    np.testing.assert_allclose(score, [3 * np.log(0.6) / length_penalty(3, 0.6)] * 2, rtol=1e-5)


@pytest.mark.parametrize("method, options", [("greedy", {}), ("beam", {"beam_width": 4, "alpha": 0.6})])
def test_batched_decoding_equals_one_by_one(model, source, method, options):
    limits = np.array([9, 5, 7, 3], "int32")  # per-example limits, as the Translator sets them
    ids, scores = translate(model, source, limits, method, **options)
    assert ids.shape == (4, 9)
    for i in range(4):
        length = int((source[i] != 0).sum())
        one_ids, one_scores = translate(model, source[i : i + 1, :length], limits[i], method, **options)
        np.testing.assert_array_equal(ids[i, : limits[i]], one_ids[0])
        assert np.all(ids.numpy()[i, limits[i] :] == 0)
        np.testing.assert_allclose(scores[i], one_scores[0], atol=1e-4)


def test_sampling_with_a_seed_is_reproducible(model, source):
    options = dict(temperature=1.5, top_k=20, top_p=0.95)
    first, first_scores = translate(model, source, 10, "sample", seed=3, **options)
    again, again_scores = translate(model, source, 10, "sample", seed=3, **options)
    other, _ = translate(model, source, 10, "sample", seed=4, **options)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first_scores, again_scores)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("options", [{"top_k": 1}, {"top_p": 1e-6}, {"temperature": 1e-4}])
def test_sampling_that_leaves_one_choice_is_greedy(model, source, options):
    greedy, _ = translate(model, source, 8)
    sampled, _ = translate(model, source, 8, "sample", seed=5, **options)
    np.testing.assert_array_equal(sampled, greedy)


def test_sampling_draws_only_allowed_tokens_with_the_right_frequencies():
    step = _table_step([[0.0, 0.1, 0.2, 0.3, 0.4]] * 5)
    starts = np.zeros(4000, "int32")
    ids, _ = sample(step, (), starts, end_id=9, max_length=1, top_k=3, seed=0)
    counts = np.bincount(ids.numpy()[:, 0], minlength=5) / 4000
    np.testing.assert_allclose(counts, [0, 0, 2 / 9, 3 / 9, 4 / 9], atol=0.03)
    ids, _ = sample(step, (), starts, end_id=9, max_length=1, top_p=0.65, seed=0)
    counts = np.bincount(ids.numpy()[:, 0], minlength=5) / 4000
    np.testing.assert_allclose(counts, [0, 0, 0, 3 / 7, 4 / 7], atol=0.03)


def test_filter_logits_keeps_the_top_k_and_the_nucleus():
    logits = tf.math.log([[0.1, 0.4, 0.2, 0.3]])
    top_k = _filter_logits(logits, top_k=2).numpy()
    assert np.isfinite(top_k).tolist() == [[False, True, False, True]]
    # Mass before each ranked token: 0, 0.4, 0.7, 0.9; top_p 0.7 keeps 0.4 and 0.3.
    nucleus = _filter_logits(logits, top_p=0.7).numpy()
    assert np.isfinite(nucleus).tolist() == [[False, True, False, True]]
    assert np.isfinite(_filter_logits(logits, top_k=99)).all()


def test_unknown_method_or_option_is_refused(model, source):
    with pytest.raises(ValueError, match="Unknown decoding method"):
        translate(model, source, 5, method="viterbi")
    with pytest.raises(ValueError, match="beam_width"):
        translate(model, source, 5, method="greedy", beam_width=4)


def test_a_longer_target_start_is_forced_and_continued(model, source):
    # `decoder_token_ids` may hold more than [START]: the rest is forced, and
    # greedy search goes on from there as it would have after those tokens.
    greedy, _ = translate(model, source, 6)
    rows = np.asarray(greedy[:, 0]) != END  # a forced END would not end the target
    starts = np.stack([np.full(4, START, "int32"), np.asarray(greedy[:, 0])], axis=1)
    continued, _ = generate(model, {"encoder_token_ids": source, "decoder_token_ids": starts}, 5, END)
    np.testing.assert_array_equal(np.asarray(continued)[rows], np.asarray(greedy)[rows, 1:])
