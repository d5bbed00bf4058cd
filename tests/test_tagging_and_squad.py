"""Fine-tuning inputs: token tagging and SQuAD windows, labels and answers."""

import numpy as np
import pytest
import tensorflow as tf

from tf_models.data.records import SquadExample, TaggingData
from tf_models.data.tagging_and_squad import (
    IGNORED_LABEL,
    answer_byte_span,
    squad_dataset,
    squad_features,
    squad_predictions,
    tagging_dataset,
    tagging_features,
    word_predictions,
)
from tf_models.data.tokenizers import BERT_RESERVED_TOKENS
from tf_models.training.evaluation import squad_scores

WORDS = [f"w{i}" for i in range(80)]
# The tokens of the `tokenizer` fixture (conftest.py), which is uncased: it
# lower-cases and strips accents, so "Café Müller" is "cafe muller".
VOCABULARY = list(BERT_RESERVED_TOKENS) + WORDS + [
    "who", "is", "where", "?", ".", ",", "cafe", "muller", "ar", "##ger", "##s", "new", "york"]


def token(tokenizer, token_id):
    return tokenizer.id_to_token(int(token_id))


# --- tagging -----------------------------------------------------------------


def test_tags_label_the_first_piece_of_each_word(tokenizer):
    words = tf.ragged.constant([["Ärgers", "w1", "\x07", "w2s"], ["Who"]])
    features = tagging_features(words, tokenizer, max_sequence_length=16)
    tokens = [[token(tokenizer, i) for i in row if i] for row in features["token_ids"].numpy()]
    assert tokens == [
        ["[CLS]", "ar", "##ger", "##s", "w1", "[UNK]", "w2", "##s", "[SEP]"],
        ["[CLS]", "who", "[SEP]"],
    ]
    # A word without pieces (a control character) becomes [UNK] and keeps its tag.
    assert features["word_ids"].numpy().tolist() == [
        [-1, 0, -1, -1, 1, 2, 3, -1, -1],
        [-1, 0, -1, -1, -1, -1, -1, -1, -1],
    ]
    assert features["padding_mask"].numpy().sum(axis=1).tolist() == [9, 3]
    assert not features["segment_ids"].numpy().any()
    assert all(features[key].dtype == tf.int32 for key in features)


def test_tagging_truncates_to_the_sequence_length(tokenizer):
    words = tf.ragged.constant([["w1", "Ärgers", "w2"]])
    features = tagging_features(words, tokenizer, max_sequence_length=5)
    tokens = [token(tokenizer, i) for i in features["token_ids"].numpy()[0]]
    assert tokens == ["[CLS]", "w1", "ar", "##ger", "[SEP]"]  # cut inside a word
    assert features["word_ids"].numpy().tolist() == [[-1, 0, 1, -1, -1]]


def test_tagging_dataset_and_word_predictions(tokenizer):
    sentences = [["W1", "Ärgers", "w2"], ["w3"], ["w4", "w5", "w6", "w7", "w8", "w9"]]
    tags = [[1, 2, 0], [3], [0, 1, 1, 0, 2, 2]]
    data = TaggingData(sentences, tags, ("O", "B-PER", "I-PER", "B-LOC"))
    batches = list(tagging_dataset(data, tokenizer, batch_size=2, max_sequence_length=7))
    assert len(batches) == 2
    features, labels = batches[0]
    assert set(features) == {"token_ids", "segment_ids", "padding_mask"}
    assert labels["logits"].numpy().tolist() == [
        [-1, 1, 2, -1, -1, 0, -1],
        [-1, 3, -1, IGNORED_LABEL, IGNORED_LABEL, IGNORED_LABEL, IGNORED_LABEL],
    ]
    # Padding is ignored too, and every label sits on a real token.
    labels = np.concatenate([np.pad(b[1]["logits"].numpy(), ((0, 0), (0, 8 - b[1]["logits"].shape[1])),
                                    constant_values=-1) for b in batches])
    mask = np.concatenate([np.pad(b[0]["padding_mask"].numpy(), ((0, 0), (0, 8 - b[0]["padding_mask"].shape[1])))
                           for b in batches])
    assert np.all(mask[labels >= 0] == 1)
    # The labels themselves as predictions give the tags back; the sentence
    # cut to 5 words gets "O" (0) for the rest.
    predicted = np.where(labels >= 0, labels, 3)
    assert word_predictions(predicted, labels, num_words=[3, 1, 6], fill=0) == [
        [1, 2, 0], [3], [0, 1, 1, 0, 2, 0]]


def test_tagging_dataset_checks_lengths(tokenizer):
    with pytest.raises(ValueError, match="one tag per word"):
        tagging_dataset(TaggingData([["a", "b"]], [[0]], ("O",)), tokenizer)


# --- SQuAD windows -----------------------------------------------------------


def reference_windows(num_pieces, question_length, max_sequence_length, doc_stride):
    """run_squad.py's doc spans: (start, length) pairs."""
    size, spans, start = max_sequence_length - question_length - 3, [], 0
    while start < num_pieces:
        length = min(num_pieces - start, size)
        spans.append((start, length))
        if start + length == num_pieces:
            break
        start += min(length, doc_stride)
    return spans or [(0, 0)]


def reference_max_context(spans, span_index, piece):
    """run_squad.py's _check_is_max_context."""
    best_score, best_index = None, None
    for index, (start, length) in enumerate(spans):
        end = start + length - 1
        if start <= piece <= end:
            score = min(piece - start, end - piece) + 0.01 * length
            if best_score is None or score > best_score:
                best_score, best_index = score, index
    return span_index == best_index


def long_example(qid, answer_at, words=60):
    """A context of `words` words with "Café MÜLLER" at word `answer_at`."""
    context_words = [f"W{i}" if i % 7 else f"w{i}s," for i in range(words)]
    context_words[answer_at : answer_at + 2] = ["Café", "MÜLLER"]
    context = " ".join(context_words) + "."
    start = context.index("Café MÜLLER")
    return SquadExample(qid, "", "Who is Müller?", context, (("Café MÜLLER", start),))


@pytest.mark.parametrize("doc_stride", [5, 8, 128])
def test_windows_match_run_squad(tokenizer, doc_stride):
    examples = [long_example("a", 30), long_example("b", 2, words=12), long_example("c", 55)]
    length, query = 24, 6
    spans = [answer_byte_span(e.context, *e.answers[0]) for e in examples]
    features = squad_features(
        [e.question for e in examples], [e.context for e in examples], tokenizer,
        max_sequence_length=length, max_query_length=query, doc_stride=doc_stride,
        answer_begin=[b for b, _ in spans], answer_end=[e for _, e in spans],
    )
    features = {key: value.numpy() for key, value in features.items()}
    assert all(value.shape[1:] == (length,) for key, value in features.items() if value.ndim == 2)
    question = tokenizer.tokenize(["Who is Müller?"]).to_list()[0][:query]
    row = 0
    for index, example in enumerate(examples):
        context_ids = tokenizer.tokenize([example.context]).to_list()[0]
        windows = reference_windows(len(context_ids), len(question), length, doc_stride)
        labelled = 0
        for window_index, (start, size) in enumerate(windows):
            assert features["example_index"][row] == index
            expected = [tokenizer.cls_id, *question, tokenizer.sep_id, *context_ids[start : start + size],
                        tokenizer.sep_id]
            real = len(expected)
            np.testing.assert_array_equal(features["token_ids"][row][:real], expected)
            assert not features["token_ids"][row][real:].any()
            assert features["padding_mask"][row].tolist() == [1] * real + [0] * (length - real)
            first = len(question) + 2
            assert features["segment_ids"][row].tolist() == [0] * first + [1] * (size + 1) + [0] * (length - real)
            max_context = [reference_max_context(windows, window_index, start + i) for i in range(size)]
            assert features["token_is_max_context"][row].tolist() == (
                [False] * first + max_context + [False] * (length - first - size))
            assert (features["token_begin"][row][first : first + size] >= 0).all()
            assert (np.delete(features["token_begin"][row], np.s_[first : first + size]) == -1).all()
            begin, end = features["start_positions"][row], features["end_positions"][row]
            if begin:
                # Decoded through the offsets: exactly the answer as written.
                data = example.context.encode()
                text = data[features["token_begin"][row][begin] : features["token_end"][row][end]].decode()
                assert text == "Café MÜLLER"
                assert [token(tokenizer, i) for i in features["token_ids"][row][begin : end + 1]] == [
                    "cafe", "muller"]
                labelled += 1
            else:
                assert end == 0
            row += 1
        assert labelled >= 1  # some window holds the whole answer
    assert row == len(features["example_index"])


def test_answer_pieces_are_those_that_overlap_it(tokenizer):
    # "Ärgers" is ar ##ger ##s; an answer inside it labels the pieces it touches.
    context = "w1 Ärgers w2"
    begin = len("w1 Ä".encode())
    features = squad_features(["Who?"], [context], tokenizer, max_sequence_length=16, max_query_length=4,
                              answer_begin=[begin], answer_end=[begin + len("rge".encode())])
    start, end = int(features["start_positions"][0]), int(features["end_positions"][0])
    tokens = [token(tokenizer, i) for i in features["token_ids"][0].numpy()]
    assert tokens[start : end + 1] == ["ar", "##ger"]  # "rge" overlaps "Är" and "ger"


def test_empty_context_gets_one_window(tokenizer):
    features = squad_features(["Who?", "Where?"], ["", "w1"], tokenizer, max_sequence_length=8,
                              max_query_length=3)
    assert features["example_index"].numpy().tolist() == [0, 1]
    assert features["padding_mask"].numpy().sum(axis=1).tolist() == [5, 6]  # [CLS] q [SEP] c [SEP]


def test_squad_features_validate_sizes(tokenizer):
    with pytest.raises(ValueError, match="must exceed max_query_length"):
        squad_features(["q"], ["c"], tokenizer, max_sequence_length=10, max_query_length=7)


def test_squad_features_run_in_a_graph(tokenizer):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)] * 2)
    def featurize(questions, contexts):
        return squad_features(questions, contexts, tokenizer, max_sequence_length=16, max_query_length=4)

    eager = squad_features(["Who?"], ["w1 Café w2"], tokenizer, max_sequence_length=16, max_query_length=4)
    graph = featurize(tf.constant(["Who?"]), tf.constant(["w1 Café w2"]))
    for key in eager:
        np.testing.assert_array_equal(graph[key], eager[key])


# --- SQuAD answers -----------------------------------------------------------


def metadata(begin, is_max_context, example_index=(0,)):
    begin = np.array(begin)
    return {
        "example_index": np.array(example_index),
        "token_begin": begin,
        "token_end": np.where(begin >= 0, begin + 1, -1),
        "token_is_max_context": np.array(is_max_context),
    }


def test_predictions_follow_the_n_best_rules():
    example = SquadExample("q", "", "?", "abcdefgh", (("a", 0),))
    # Positions: [CLS] ? [SEP] a b c d e [SEP]; context bytes 0..4 at 3..7.
    begin = [[-1, -1, -1, 0, 1, 2, 3, 4, -1]]
    everywhere = [[False] * 3 + [True] * 5 + [False]]

    def predict(start, end, max_context=everywhere, **kwargs):
        return squad_predictions([example], metadata(begin, max_context), [start], [end], **kwargs)["q"]

    start = [9.0, 8.0, 0, 1.0, 0, 0, 0, 0, 0]  # question positions are never answers
    end = [9.0, 0, 0, 0, 0, 2.0, 0, 0, 0]
    assert predict(start, end) == "abc"
    # "abc" is 3 pieces: the best pair of at most 2 starts at "b" (equal
    # to "c"'s score, and "b" ranks first among equal start logits).
    assert predict(start, end, max_answer_length=2) == "bc"
    low = -10.0
    start_after = [0, 0, 0, low, low, 3.0, low, low, 0]
    end_before = [0, 0, 0, 5.0, low, 0, low, low, 0]
    assert predict(start_after, end_before) == "c"  # "c".."a" (score 8) is refused: end < start
    not_max = [[False] * 3 + [False] + [True] * 4 + [False]]
    assert predict(start, end, not_max) == "bc"  # no start where the piece lacks max context
    assert predict(start, end, n_best_size=1) == ""  # only [CLS] considered: no valid span


def test_predictions_take_the_best_window():
    example = SquadExample("q", "", "?", "abcdef", (("a", 0),))
    windows = metadata(
        [[-1, 0, 1, 2, -1], [-1, 2, 3, 4, -1]],
        [[False, True, True, False, False], [False, True, True, True, False]],
        example_index=[0, 0],
    )
    start = [[0, 1.0, 0, 0, 0], [0, 0, 3.0, 0, 0]]
    end = [[0, 0, 2.0, 0, 0], [0, 0, 0, 0.5, 0]]
    assert squad_predictions([example], windows, start, end) == {"q": "de"}  # 3.5 beats 3.0


def test_labels_as_logits_recover_every_answer(tokenizer):
    examples = [long_example("a", 30), long_example("b", 2, words=12), long_example("c", 50)]
    sizes = dict(max_sequence_length=24, max_query_length=6, doc_stride=5)
    train = list(squad_dataset(examples, tokenizer, batch_size=4, **sizes))
    evaluate = list(squad_dataset(examples, tokenizer, batch_size=4, training=False, **sizes))
    assert [inputs["token_ids"].shape[0] for inputs, _ in train] == [
        inputs["token_ids"].shape[0] for inputs, _ in evaluate]
    metadata = {key: np.concatenate([m[key].numpy() for _, m in evaluate]) for key in evaluate[0][1]}
    starts = np.concatenate([labels["start_logits"].numpy() for _, labels in train])
    ends = np.concatenate([labels["end_logits"].numpy() for _, labels in train])
    # Confident logits where a window holds the answer, flat elsewhere.
    start_logits = np.where(np.arange(24) == starts[:, None], 10.0, 0.0) * (starts[:, None] > 0)
    end_logits = np.where(np.arange(24) == ends[:, None], 10.0, 0.0) * (ends[:, None] > 0)
    predictions = squad_predictions(examples, metadata, start_logits, end_logits)
    assert predictions == {"a": "Café MÜLLER", "b": "Café MÜLLER", "c": "Café MÜLLER"}
    assert squad_scores(predictions, examples) == {"exact_match": 100.0, "f1": 100.0}
