import numpy as np
import pytest

from tf_models.training.evaluation import classification_scores, corpus_bleu


def test_bleu_orders_translations_and_reports_a_signature():
    references = ["a man rides a horse on the beach", "two dogs play in the snow"]
    perfect, _ = corpus_bleu(references, references)
    close, signature = corpus_bleu(["a man rides a horse at the beach", "two dogs play in snow"], references)
    poor, _ = corpus_bleu(["the", "dogs"], references)
    assert perfect == pytest.approx(100.0) and perfect > close > poor
    assert "nrefs:1" in signature and "tok:13a" in signature


def test_classification_scores_match_hand_computation():
    labels = np.array([1, 1, 1, 0, 0, 1, 0, 1])
    predictions = np.array([1, 0, 1, 0, 1, 1, 0, 1])
    scores = classification_scores(labels, predictions)
    tp, tn, fp, fn = 4, 2, 1, 1
    assert scores["accuracy"] == pytest.approx(6 / 8)
    mcc = (tp * tn - fp * fn) / np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    assert scores["mcc"] == pytest.approx(mcc)
    f1_positive = 2 * tp / (2 * tp + fp + fn)
    f1_negative = 2 * tn / (2 * tn + fn + fp)
    assert scores["macro_f1"] == pytest.approx((f1_positive + f1_negative) / 2)
    assert scores["majority_baseline"] == pytest.approx(5 / 8)


def test_constant_predictions_have_zero_mcc():
    assert classification_scores([0, 1, 1], [1, 1, 1])["mcc"] == 0.0
