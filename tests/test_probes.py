"""Probes of a pretrained BERT: masked words among word tokens, fill-mask words, a linear probe."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_models.inference import FillMask
from tf_models.inference.probes import fill_mask_words, linear_probe_accuracy, masked_word_accuracy, word_token_ids
from tf_models.models import BertBackbone, BertPretrainer

# The tokens of the `tokenizer` fixture (conftest.py).
VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "tea", "is", "good", "bad", ".", "##s", "42"]


@pytest.fixture
def pretrainer():
    keras.utils.set_random_seed(0)
    return BertPretrainer(BertBackbone.from_preset("test", vocabulary_size=len(VOCABULARY)))


def test_word_tokens_are_letters_only(tokenizer):
    assert [VOCABULARY[i] for i in word_token_ids(tokenizer)] == ["the", "tea", "is", "good", "bad"]


def test_masked_word_accuracy_scores_one_word_per_sentence(pretrainer, tokenizer):
    sentences = ["the tea is good .", "the teas is bad .", ". 42 .", "tea"]
    results = masked_word_accuracy(pretrainer, tokenizer, sentences, most_frequent_word=5, seed=1)
    assert results["masked_words"] == 3  # ". 42 ." has no word token
    assert 0.0 <= results["word_accuracy"] <= 1.0
    # The baseline answers "the": right where the hidden word is "the".
    assert results["baseline_most_frequent_word_accuracy"] in (0.0, 1 / 3, 2 / 3)


def test_fill_mask_words_answers_words_only(pretrainer, tokenizer):
    answers = fill_mask_words(pretrainer, tokenizer, ["the [MASK] is good .", "[MASK] ."], top_k=3)
    assert list(answers) == ["the [MASK] is good .", "[MASK] ."]
    for words in answers.values():
        assert len(words) == 3 and all(word in ("the", "tea", "is", "good", "bad") for word in words)
    with pytest.raises(ValueError, match="has no \\[MASK\\]"):
        fill_mask_words(pretrainer, tokenizer, ["the tea is good ."])


def test_fill_mask_model_with_words_only_ranks_as_the_probe_and_keeps_whole_vocabulary_probabilities(
        pretrainer, tokenizer):
    prompts = ["the [MASK] is good .", "[MASK] tea ."]
    everything = FillMask(pretrainer, tokenizer, top_k=len(VOCABULARY))(tf.constant(prompts))
    words = FillMask(pretrainer, tokenizer, top_k=3, words_only=True)(tf.constant(prompts))
    expected = fill_mask_words(pretrainer, tokenizer, prompts, top_k=3)
    for i, prompt in enumerate(prompts):
        assert [t.decode() for t in words["tokens"].numpy()[i, 0]] == expected[prompt]
        # A word's probability is its share of the whole vocabulary, as without words_only.
        full = dict(zip(everything["tokens"].numpy()[i, 0], everything["probabilities"].numpy()[i, 0]))
        for token, probability in zip(words["tokens"].numpy()[i, 0], words["probabilities"].numpy()[i, 0]):
            assert probability == pytest.approx(full[token], abs=1e-6)
    assert FillMask(pretrainer, tokenizer, top_k=9, words_only=True).settings["words_only"] is True
    # Never more candidates than there are words.
    assert FillMask(pretrainer, tokenizer, top_k=9, words_only=True)(tf.constant(prompts))["tokens"].shape == (2, 1, 5)


def test_linear_probe_reads_frozen_features(pretrainer, tokenizer):
    texts, labels = ["the tea is good .", "the tea is bad ."] * 20, [1, 0] * 20
    before = [np.asarray(w).copy() for w in pretrainer.backbone.weights]
    accuracy = linear_probe_accuracy(pretrainer.backbone, tokenizer, (texts, labels), (texts[:4], labels[:4]), 16)
    assert accuracy == 1.0  # "good" and "bad" give different features even with random weights
    assert all(np.array_equal(a, np.asarray(b)) for a, b in zip(before, pretrainer.backbone.weights))
