"""Evaluation metrics computed on whole test sets (not per batch)."""

import numpy as np


def corpus_bleu(hypotheses, references):
    """Detokenized corpus BLEU with sacrebleu, as papers report it.

    Args:
        hypotheses: list of translated strings.
        references: list of reference strings, one per hypothesis.

    Returns:
        `(score, signature)`: BLEU in [0, 100] and sacrebleu's signature
        string, which says exactly how the score was computed.

    Example:
    >>> score, _ = corpus_bleu(["the cat sat on the mat"], ["the cat sat on the mat"])
    >>> round(score)
    100
    """
    import sacrebleu

    metric = sacrebleu.BLEU()
    result = metric.corpus_score(list(hypotheses), [list(references)])
    return result.score, str(metric.get_signature())


def classification_scores(labels, predictions):
    """Accuracy, macro-averaged F1 and Matthews correlation.

    Args:
        labels: int array of true labels.
        predictions: int array of predicted labels.

    Returns:
        A dict with `accuracy`, `macro_f1`, `mcc` and `majority_baseline`
        (the accuracy of always predicting the most frequent true label).

    Example:
    >>> scores = classification_scores([0, 1, 1, 1], [0, 1, 0, 1])
    >>> scores["accuracy"], scores["majority_baseline"]
    (0.75, 0.75)
    """
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    classes = np.union1d(labels, predictions)
    confusion = np.array([[np.sum((labels == t) & (predictions == p)) for p in classes] for t in classes])
    true_positives = np.diag(confusion).astype(float)
    precision = np.divide(true_positives, confusion.sum(0), out=np.zeros_like(true_positives), where=confusion.sum(0) > 0)
    recall = np.divide(true_positives, confusion.sum(1), out=np.zeros_like(true_positives), where=confusion.sum(1) > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(precision), where=precision + recall > 0)
    return {
        "accuracy": float(np.mean(labels == predictions)),
        "macro_f1": float(np.mean(f1)),
        "mcc": _matthews(confusion),
        "majority_baseline": float(np.max(np.bincount(labels)) / len(labels)),
    }


def _matthews(confusion):
    """Multi-class Matthews correlation (Gorodkin 2004) from a confusion matrix."""
    total = confusion.sum()
    correct = np.trace(confusion)
    predicted, actual = confusion.sum(0), confusion.sum(1)
    numerator = correct * total - np.dot(predicted, actual)
    denominator = np.sqrt((total**2 - np.dot(predicted, predicted)) * (total**2 - np.dot(actual, actual)))
    return float(numerator / denominator) if denominator else 0.0
