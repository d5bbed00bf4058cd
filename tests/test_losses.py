import keras
import numpy as np
import pytest

from tf_models.training import MaskedAccuracy, MaskedSparseCategoricalCrossentropy, Perplexity

LABELS = np.array([[3, 1, 2, 0], [2, 0, 0, 0]])  # 0 is padding


def _logits(seed=0):
    return np.random.default_rng(seed).normal(size=(2, 4, 5)).astype("float32")


def _hand_loss(labels, logits, smoothing, weights=None):
    """Label-smoothed cross-entropy over real tokens, written with numpy."""
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    vocabulary = logits.shape[-1]
    total = count = 0.0
    for b in range(labels.shape[0]):
        for t in range(labels.shape[1]):
            if labels[b, t] == 0:
                continue
            target = np.full(vocabulary, smoothing / vocabulary)
            target[labels[b, t]] += 1 - smoothing
            weight = 1.0 if weights is None else weights[b, t]
            total += weight * -(target * log_probs[b, t]).sum()
            count += weight
    return total / count


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_equals_hand_computation(smoothing):
    logits = _logits()
    loss = MaskedSparseCategoricalCrossentropy(label_smoothing=smoothing)
    assert float(loss(LABELS, logits)) == pytest.approx(_hand_loss(LABELS, logits, smoothing), rel=1e-5)


def test_padding_is_ignored():
    logits, changed = _logits(), _logits()
    changed[LABELS == 0] = 100.0 * _logits(seed=1)[LABELS == 0]
    loss = MaskedSparseCategoricalCrossentropy(label_smoothing=0.1)
    assert float(loss(LABELS, changed)) == pytest.approx(float(loss(LABELS, logits)), rel=1e-6)
    # Appending more padding changes nothing either.
    padded_labels = np.pad(LABELS, ((0, 0), (0, 3)))
    padded_logits = np.pad(logits, ((0, 0), (0, 3), (0, 0)))
    assert float(loss(padded_labels, padded_logits)) == pytest.approx(float(loss(LABELS, logits)), rel=1e-6)


def test_sample_weights_weight_the_mean():
    weights = np.array([[1.0, 0.5, 0.0, 1.0], [2.0, 0.0, 0.0, 0.0]], "float32")
    logits = _logits()
    loss = MaskedSparseCategoricalCrossentropy()
    assert float(loss(LABELS, logits, sample_weight=weights)) == pytest.approx(
        _hand_loss(LABELS, logits, 0.0, weights), rel=1e-5
    )


def test_loss_is_float32_under_mixed_precision(policy):
    logits = keras.ops.cast(_logits(), policy.compute_dtype)
    value = MaskedSparseCategoricalCrossentropy(label_smoothing=0.1)(LABELS, logits)
    assert value.dtype == "float32"
    tolerance = {"float32": 1e-5, "float16": 1e-3, "bfloat16": 2e-2}[policy.compute_dtype]
    assert float(value) == pytest.approx(_hand_loss(LABELS, _logits(), 0.1), rel=tolerance)


def test_masked_accuracy_and_perplexity():
    logits = _logits()
    accuracy, perplexity = MaskedAccuracy(), Perplexity()
    accuracy.update_state(LABELS, logits)
    perplexity.update_state(LABELS, logits)
    real = LABELS != 0
    expected = (logits.argmax(-1) == LABELS)[real].mean()
    assert float(accuracy.result()) == pytest.approx(expected)
    assert float(perplexity.result()) == pytest.approx(np.exp(_hand_loss(LABELS, logits, 0.0)), rel=1e-5)
    accuracy.reset_state()
    assert float(accuracy.result()) == 0.0


def test_loss_config_round_trip():
    loss = MaskedSparseCategoricalCrossentropy(padding_id=7, label_smoothing=0.2)
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert (restored.padding_id, restored.label_smoothing) == (7, 0.2)
