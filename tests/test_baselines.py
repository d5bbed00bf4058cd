"""The classical baselines that stand beside the neural results."""

import numpy as np
import pytest

from tf_models.training.baselines import (
    character_logistic_regression,
    majority_class,
    nearest_training_target,
    tfidf_logistic_regression,
)


def test_tfidf_logistic_regression_learns_words_and_reads_pairs():
    rng = np.random.default_rng(0)
    filler = ["the", "a", "box", "it", "was", "very", "and", "we"]
    good, bad = ["tasty", "fresh", "lovely"], ["stale", "broken", "awful"]

    def text(label):
        words = list(rng.choice(filler, 6)) + [rng.choice(good if label else bad)]
        return " ".join(rng.permutation(words))

    labels = rng.integers(0, 2, 400)
    texts = [text(label) for label in labels]
    test_labels = rng.integers(0, 2, 100)
    predicted = tfidf_logistic_regression(texts, labels, [text(label) for label in test_labels])
    assert predicted.dtype.kind == "i" and predicted.shape == (100,)
    assert np.mean(predicted == test_labels) > 0.95
    # Pairs: the label depends on whether the second text repeats the first.
    pairs = [(f"x{i % 7}", f"x{i % 7}" if i % 2 else f"y{i % 5}") for i in range(200)]
    predicted = tfidf_logistic_regression(pairs, [i % 2 for i in range(200)], pairs[:20])
    assert np.mean(predicted == [i % 2 for i in range(20)]) > 0.9


def test_majority_class():
    assert majority_class(np.array([2, 2, 0, 1, 2])) == 2


def test_ngram_baselines_against_counts_by_hand():
    from tf_models.training.baselines import ngram_cross_entropy

    train, test = np.array([1, 2, 2, 3] * 25), np.array([2, 3, 1])
    # Unigram, add-one over 5 ids: counts 25, 50, 25 (+1 each, +1 for ids 0 and 4) of 105.
    expected = -np.mean(np.log(np.array([51, 26, 26]) / 105))
    assert ngram_cross_entropy(train, test, 5, order=1) == pytest.approx(expected)
    # Bigram: p(3 | 2) = 1/2 and p(1 | 3) = 1 in training; the first token is scored by the unigram.
    weight = 0.95  # the largest weight tried wins on text this regular
    p = [51 / 105, weight * 0.5 + (1 - weight) * 26 / 105, weight * 1.0 + (1 - weight) * 26 / 105]
    assert ngram_cross_entropy(train, test, 5) == pytest.approx(-np.mean(np.log(p)))
    assert ngram_cross_entropy(train, test, 5, skip_first=True) == pytest.approx(-np.mean(np.log(p[1:])))
    assert ngram_cross_entropy(train, test, 5, order=1, skip_first=True) == pytest.approx(-np.log(26 / 105))
    with pytest.raises(ValueError, match="order must be 1 or 2"):
        ngram_cross_entropy(train, test, 5, order=3)


def test_nearest_training_target_matches_by_characters_without_word_boundaries():
    train = [("打开文件", "Open File"), ("关闭窗口", "Close Window"), ("保存文档", "Save Document")]
    test = ["关闭此窗口", "打开文件夹", "保存"]
    assert nearest_training_target(train, test, batch_size=2) == ["Close Window", "Open File", "Save Document"]


def test_character_logistic_regression_tags_unseen_words_by_their_endings():
    words = ["quickly", "slowly", "gladly", "sadly", "running", "reading", "singing", "eating"] * 2
    tags = [1, 1, 1, 1, 0, 0, 0, 0] * 2
    assert character_logistic_regression(words, tags, ["rarely", "jumping", "madly"]).tolist() == [1, 0, 1]
    # A single training tag is the answer everywhere (scikit-learn would refuse to fit).
    assert character_logistic_regression(["a", "b"], [2, 2], ["c"]).tolist() == [2]
