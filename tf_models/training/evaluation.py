"""Evaluation metrics computed on whole test sets (not per batch).

* `corpus_bleu`: translation.
* `classification_scores`, `binary_f1`, `regression_scores`: GLUE-style
  sentence (pair) tasks.
* `tagging_scores`: token tagging, entity-level as conlleval counts.
* `squad_scores`: extractive question answering, as the official SQuAD v1.1
  evaluation script scores it.
"""

import collections
import logging
import re
import string

import numpy as np

logger = logging.getLogger(__name__)


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
        (the accuracy of always predicting the most frequent true label);
        for binary tasks (labels and predictions in {0, 1}) also `f1`, the
        F1 of class 1, which GLUE reports for MRPC and QQP.

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
    scores = {
        "accuracy": float(np.mean(labels == predictions)),
        "macro_f1": float(np.mean(f1)),
        "mcc": _matthews(confusion),
        "majority_baseline": float(np.max(np.bincount(labels)) / len(labels)),
    }
    if set(classes.tolist()) <= {0, 1}:
        scores["f1"] = binary_f1(labels, predictions)
    return scores


def binary_f1(labels, predictions, positive=1):
    """F1 of the positive class: `2 TP / (2 TP + FP + FN)` (0 when undefined).

    Example:
    >>> binary_f1([1, 1, 0, 0], [1, 0, 1, 0])
    0.5
    """
    labels, predictions = np.asarray(labels) == positive, np.asarray(predictions) == positive
    true_positives = np.sum(labels & predictions)
    wrong = np.sum(labels != predictions)  # false positives and false negatives
    return float(2 * true_positives / (2 * true_positives + wrong)) if true_positives else 0.0


def _matthews(confusion):
    """Multi-class Matthews correlation (Gorodkin 2004) from a confusion matrix."""
    total = confusion.sum()
    correct = np.trace(confusion)
    predicted, actual = confusion.sum(0), confusion.sum(1)
    numerator = correct * total - np.dot(predicted, actual)
    denominator = np.sqrt((total**2 - np.dot(predicted, predicted)) * (total**2 - np.dot(actual, actual)))
    return float(numerator / denominator) if denominator else 0.0


def regression_scores(labels, predictions):
    """Pearson and Spearman correlations, as GLUE reports for STS-B.

    Spearman's is Pearson's over ranks, tied values sharing their average
    rank (as `scipy.stats.spearmanr` computes it).

    Args:
        labels: float array of true scores.
        predictions: float array of predicted scores.

    Returns:
        A dict with `pearson` and `spearman` (0 when either side is
        constant) and `mse`, the mean squared error.

    Example:
    >>> scores = regression_scores([1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 2.0, 5.0])
    >>> round(scores["pearson"], 4), scores["spearman"]
    (0.8315, 0.8)
    """
    labels = np.asarray(labels, np.float64).reshape(-1)
    predictions = np.asarray(predictions, np.float64).reshape(-1)
    if labels.shape != predictions.shape or labels.size < 2:
        raise ValueError("Expected two arrays of the same length, at least 2.")
    return {
        "pearson": _pearson(labels, predictions),
        "spearman": _pearson(_average_ranks(labels), _average_ranks(predictions)),
        "mse": float(np.mean((labels - predictions) ** 2)),
    }


def _pearson(x, y):
    x, y = x - x.mean(), y - y.mean()
    denominator = np.sqrt(np.sum(x * x) * np.sum(y * y))
    return float(np.sum(x * y) / denominator) if denominator else 0.0


def _average_ranks(values):
    """1-based ranks; tied values get the mean of the ranks they span."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    _, group, counts = np.unique(values, return_inverse=True, return_counts=True)
    # Ties share one group; their ranks are consecutive, so average them.
    sums = np.bincount(group, weights=ranks)
    return sums[group] / counts[group]


# ------------------------------------------------------------ tagging


def _split_tag(tag):
    """`"B-PER"` -> `("B", "PER")`; `"O"` -> `("O", "")` (conlleval's rule)."""
    prefix, _, kind = tag.partition("-")
    return prefix, kind


def _chunk_ends(previous, previous_type, tag, tag_type):
    """conlleval's endOfChunk: does a chunk end just before `tag`?"""
    return (
        previous in ("E", "S")
        or (previous in ("B", "I") and tag in ("B", "S", "O"))
        or (previous not in ("O", ".") and previous_type != tag_type)
    )


def _chunk_starts(previous, previous_type, tag, tag_type):
    """conlleval's startOfChunk: does a chunk start at `tag`?"""
    return (
        tag in ("B", "S")
        or (previous in ("E", "S", "O") and tag in ("E", "I"))
        or (tag not in ("O", ".") and previous_type != tag_type)
    )


def entity_spans(tags):
    """The chunks of one sentence's tags, by conlleval's rules.

    Works for IOB1, IOB2 (BIO) and IOBES tags: an `I-` tag after `O` or
    after a chunk of another type starts a new chunk, and every sentence
    ends any open chunk.

    Args:
        tags: a list of tag strings such as `"B-PER"`, `"I-PER"`, `"O"`.

    Returns:
        A set of `(type, first, last)` word indices (inclusive).

    Example:
    >>> sorted(entity_spans(["B-PER", "I-PER", "O", "I-LOC", "I-ORG"]))
    [('LOC', 3, 3), ('ORG', 4, 4), ('PER', 0, 1)]
    """
    spans, start = set(), None
    previous, previous_type = "O", ""
    for i, tag in enumerate(list(tags) + ["O"]):  # the final "O" closes the sentence
        prefix, kind = _split_tag(tag)
        if start is not None and _chunk_ends(previous, previous_type, prefix, kind):
            spans.add((previous_type, start, i - 1))
            start = None
        if _chunk_starts(previous, previous_type, prefix, kind):
            start = i
        previous, previous_type = prefix, kind
    return spans


def tagging_scores(true_tags, predicted_tags):
    """Token accuracy and entity-level precision, recall and F1 (conlleval).

    An entity counts as found only when the predicted chunk has the true
    chunk's type and both of its boundaries (`entity_spans`).

    Args:
        true_tags: list of sentences, each a list of tag strings.
        predicted_tags: the predicted tags, of the same shape.

    Returns:
        A dict with `accuracy` (of tags, over all words), `precision`,
        `recall` and `f1` over entities, as fractions (conlleval prints
        them in percent), and the counts `true_entities`,
        `predicted_entities`, `correct_entities`.

    Example:
    >>> true = [["B-PER", "I-PER", "O", "B-LOC"]]
    >>> predicted = [["B-PER", "I-PER", "O", "B-ORG"]]
    >>> scores = tagging_scores(true, predicted)
    >>> scores["accuracy"], scores["precision"], scores["f1"]
    (0.75, 0.5, 0.5)
    """
    if len(true_tags) != len(predicted_tags):
        raise ValueError(f"{len(true_tags)} true sentences but {len(predicted_tags)} predicted.")
    correct_tags = total_tags = found = predicted = correct = 0
    for i, (true, guess) in enumerate(zip(true_tags, predicted_tags)):
        if len(true) != len(guess):
            raise ValueError(f"Sentence {i}: {len(true)} true tags but {len(guess)} predicted.")
        correct_tags += sum(t == g for t, g in zip(true, guess))
        total_tags += len(true)
        true_spans, guessed_spans = entity_spans(true), entity_spans(guess)
        found += len(true_spans)
        predicted += len(guessed_spans)
        correct += len(true_spans & guessed_spans)
    precision = correct / predicted if predicted else 0.0
    recall = correct / found if found else 0.0
    return {
        "accuracy": correct_tags / total_tags if total_tags else 0.0,
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "true_entities": found,
        "predicted_entities": predicted,
        "correct_entities": correct,
    }


# --------------------------------------------------------------- SQuAD


def normalize_answer(text):
    """The official SQuAD v1.1 normalisation: lower-case, drop ASCII
    punctuation, drop the articles a/an/the, collapse whitespace.

    Example:
    >>> normalize_answer("The  Beatles!")
    'beatles'
    """
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


_PUNCTUATION = frozenset(string.punctuation)


def _squad_f1(prediction, truth):
    """Token-overlap F1 of the normalised strings (SQuAD v1.1's f1_score)."""
    predicted, true = normalize_answer(prediction).split(), normalize_answer(truth).split()
    common = collections.Counter(predicted) & collections.Counter(true)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(predicted), same / len(true)
    return 2 * precision * recall / (precision + recall)


def squad_scores(predictions, answers):
    """Exact match and F1 as the official SQuAD v1.1 `evaluate-v1.1.py`.

    Each prediction is compared with every reference answer of its
    question after `normalize_answer`; the best match counts. A question
    without a prediction scores 0 (and is logged).

    Args:
        predictions: dict from question id to predicted answer text.
        answers: dict from question id to a list of reference answer texts,
            or a list of `SquadExample` (their `answer_texts`).

    Returns:
        A dict with `exact_match` and `f1`, in percent (0 to 100), as the
        script prints them.

    Example:
    >>> squad_scores({"q1": "The Beatles!", "q2": "in 1962"},
    ...              {"q1": ["beatles"], "q2": ["1962", "October 1962"]})
    {'exact_match': 50.0, 'f1': 83.33333333333333}
    """
    if not isinstance(answers, dict):
        answers = {example.id: example.answer_texts for example in answers}
    exact = f1 = 0.0
    missing = 0
    for qid, truths in answers.items():
        if qid not in predictions:
            missing += 1
            continue
        prediction = predictions[qid]
        exact += max(float(normalize_answer(prediction) == normalize_answer(t)) for t in truths)
        f1 += max(_squad_f1(prediction, t) for t in truths)
    if missing:
        logger.warning("%d questions have no prediction and score 0", missing)
    total = len(answers)
    return {"exact_match": 100.0 * exact / total, "f1": 100.0 * f1 / total}
