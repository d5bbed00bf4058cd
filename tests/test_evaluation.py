import numpy as np
import pytest

from tf_models.training.evaluation import (
    binary_f1,
    classification_scores,
    corpus_bleu,
    entity_spans,
    normalize_answer,
    regression_scores,
    squad_scores,
    tagging_scores,
)


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


# --- GLUE: binary F1, regression ----------------------------------------------


def test_binary_f1_is_the_positive_class_f1():
    labels = np.array([1, 1, 1, 0, 0, 1, 0, 1])
    predictions = np.array([1, 0, 1, 0, 1, 1, 0, 1])
    tp, fp, fn = 4, 1, 1
    assert binary_f1(labels, predictions) == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert classification_scores(labels, predictions)["f1"] == binary_f1(labels, predictions)
    assert binary_f1([0, 0], [0, 0]) == 0.0  # no positive anywhere
    assert "f1" not in classification_scores([0, 1, 2], [0, 2, 1])  # not binary


def test_regression_scores_with_ties():
    labels = [1.0, 2.0, 2.0, 3.0, 5.0, 5.0]
    predictions = [0.5, 2.5, 1.0, 3.0, 4.0, 4.0]
    # Average ranks: labels 1, 2.5, 2.5, 4, 5.5, 5.5; predictions 1, 3, 2, 4, 5.5, 5.5.
    rank_labels = np.array([1, 2.5, 2.5, 4, 5.5, 5.5])
    rank_predictions = np.array([1, 3, 2, 4, 5.5, 5.5])
    scores = regression_scores(labels, predictions)
    assert scores["pearson"] == pytest.approx(np.corrcoef(labels, predictions)[0, 1])
    assert scores["spearman"] == pytest.approx(np.corrcoef(rank_labels, rank_predictions)[0, 1])
    assert scores["mse"] == pytest.approx(np.mean((np.array(labels) - predictions) ** 2))
    assert regression_scores([1, 2, 3], [3, 3, 3])["pearson"] == 0.0  # constant: undefined


def test_regression_scores_match_scipy():
    from scipy import stats  # requirements-dev.txt: the independent reference must run, not skip
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 6, 200).astype(float)  # many ties, as STS-B has
    predictions = labels + rng.normal(0, 1.5, 200).round(1)
    scores = regression_scores(labels, predictions)
    assert scores["pearson"] == pytest.approx(stats.pearsonr(labels, predictions)[0])
    assert scores["spearman"] == pytest.approx(stats.spearmanr(labels, predictions)[0])


# --- tagging (conlleval) -----------------------------------------------------


def test_entity_spans_follow_conlleval():
    # An I- tag after O, or after another type, starts an entity.
    assert entity_spans(["O", "I-PER", "I-PER", "I-LOC", "B-LOC", "I-LOC", "O"]) == {
        ("PER", 1, 2), ("LOC", 3, 3), ("LOC", 4, 5)}
    assert entity_spans(["B-PER", "B-PER", "I-ORG"]) == {("PER", 0, 0), ("PER", 1, 1), ("ORG", 2, 2)}
    assert entity_spans(["B-MISC", "I-MISC"]) == {("MISC", 0, 1)}  # closed by the sentence end
    assert entity_spans(["S-PER", "B-LOC", "E-LOC", "O"]) == {("PER", 0, 0), ("LOC", 1, 2)}  # IOBES
    assert entity_spans(["O", "O"]) == set()


def test_tagging_scores_match_hand_computation():
    # seqeval's README example (conlleval-compatible): one of two entities right.
    true = [["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    predicted = [["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    scores = tagging_scores(true, predicted)
    assert (scores["precision"], scores["recall"], scores["f1"]) == (0.5, 0.5, 0.5)
    assert scores["accuracy"] == pytest.approx(8 / 10)
    # A boundary or type error loses the entity; extra entities cost precision.
    true = [["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG"]]
    predicted = [["B-PER", "O", "O", "B-LOC", "B-LOC", "B-MISC"]]
    scores = tagging_scores(true, predicted)
    assert (scores["true_entities"], scores["predicted_entities"], scores["correct_entities"]) == (3, 4, 1)
    precision, recall = 1 / 4, 1 / 3
    assert scores["f1"] == pytest.approx(2 * precision * recall / (precision + recall))
    assert scores["accuracy"] == pytest.approx(3 / 6)
    with pytest.raises(ValueError, match="Sentence 0: 2 true tags but 1 predicted"):
        tagging_scores([["O", "O"]], [["O"]])


# --- SQuAD -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The Beatles!", "beatles"),
        ("  an  apple,  a PEAR and the\tfig. ", "apple pear and fig"),
        ("Theatre (anthem)", "theatre anthem"),  # articles only as whole words
        ("“quoted” café", "“quoted” café"),  # only ASCII punctuation goes
        ("1,000.5", "10005"),
    ],
)
def test_normalize_answer_is_the_official_one(text, expected):
    assert normalize_answer(text) == expected


def test_squad_scores_take_the_best_reference_in_percent(caplog):
    answers = {
        "q1": ["beatles", "The Beatles"],
        "q2": ["Denver Broncos", "the Broncos"],
        "q3": ["Santa Clara, California"],
        "q4": ["1960"],
    }
    predictions = {"q1": "The Beatles!", "q2": "Broncos", "q3": "Levi's Stadium in Santa Clara"}
    scores = squad_scores(predictions, answers)
    f1_q2 = 1.0  # "broncos" equals "the Broncos" once normalised
    f1_q3 = 2 * (2 / 5) * (2 / 3) / (2 / 5 + 2 / 3)  # "santa", "clara" shared
    assert scores["exact_match"] == pytest.approx(100 * 2 / 4)
    assert scores["f1"] == pytest.approx(100 * (1 + f1_q2 + f1_q3 + 0) / 4)
    assert "1 questions have no prediction" in caplog.text


def test_squad_scores_read_examples():
    from tf_models.data.records import SquadExample

    examples = [SquadExample("q1", "", "Who?", "The Beatles sang.", (("The Beatles", 0), ("Beatles", 4)))]
    assert squad_scores({"q1": "beatles"}, examples) == {"exact_match": 100.0, "f1": 100.0}
