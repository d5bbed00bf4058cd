"""Token tagging: words packed through their first piece, their labels, and
per-piece predictions back to one tag per word."""

import numpy as np
import pytest
import tensorflow as tf

from tf_models.data.records import TaggingData
from tf_models.data.tagging import IGNORED_LABEL, tagging_dataset, tagging_features, word_predictions
from tf_models.data.tokenizers import BERT_RESERVED_TOKENS, WordPieceTokenizer

# Words w0..w9 are one piece each; "Ärgers" is ar ##ger ##s.
VOCABULARY = [*BERT_RESERVED_TOKENS, *(f"w{i}" for i in range(10)), "who", "ar", "##ger", "##s"]


@pytest.fixture
def tokenizer(tmp_path):
    (tmp_path / "vocab.txt").write_text("\n".join(VOCABULARY) + "\n")
    return WordPieceTokenizer(tmp_path / "vocab.txt")  # uncased: lower-cases and strips accents


def pieces(tokenizer, token_ids):
    """The tokens of `token_ids`, padding left out."""
    return [tokenizer.id_to_token(i) for i in token_ids if i]


def test_tags_label_the_first_piece_of_each_word(tokenizer):
    words = tf.ragged.constant([["Ärgers", "w1", "\x07", "w2s"], ["Who"]])
    features = tagging_features(words, tokenizer, max_sequence_length=16)
    tokens = [pieces(tokenizer, row) for row in features["token_ids"].numpy()]
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
    tokens = pieces(tokenizer, features["token_ids"].numpy()[0])
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
