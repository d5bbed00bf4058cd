"""BERT's token tagging and span labelling heads, their losses, and short
fits through the task pipelines."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import max_abs_diff, random_ids

from tf_models.data.records import SquadExample, TaggingData
from tf_models.data.pipelines import classification_dataset
from tf_models.data.question_answering import squad_dataset
from tf_models.data.tagging import IGNORED_LABEL, tagging_dataset
from tf_models.data.tokenizers import BERT_RESERVED_TOKENS
from tf_models.models import BertBackbone, BertClassifier, BertSpanLabeler, BertTagger
from tf_models.training import (
    MaskedSparseCategoricalCrossentropy,
    compile_bert_regressor,
    compile_bert_span_labeler,
    compile_bert_token_classifier,
)

VOCAB = 50  # the "test" preset's vocabulary


def _batch(batch=3, length=8, real_lengths=(8, 5, 3), seed=0):
    token_ids = random_ids(batch, length, VOCAB, seed=seed)
    padding_mask = (np.arange(length)[None] < np.array(real_lengths)[:, None]).astype("int32")
    segment_ids = (np.arange(length)[None] >= 3).astype("int32") * padding_mask
    return {"token_ids": token_ids * padding_mask, "segment_ids": segment_ids, "padding_mask": padding_mask}


def test_output_shapes_and_float32_logits(policy):
    backbone = BertBackbone.from_preset("test")
    logits = BertTagger(backbone, num_classes=5)(_batch())["logits"]
    assert logits.dtype == "float32" and tuple(logits.shape) == (3, 8, 5)
    outputs = BertSpanLabeler(backbone)(_batch())
    assert set(outputs) == {"start_logits", "end_logits"}
    for key in outputs:
        assert outputs[key].dtype == "float32" and tuple(outputs[key].shape) == (3, 8), key


def test_span_labeler_scores_each_token_with_one_dense_layer():
    backbone = BertBackbone.from_preset("test")
    model = BertSpanLabeler(backbone)
    hidden = np.asarray(backbone(_batch())["sequence_output"])
    logits = hidden @ np.asarray(model.span_head.kernel) + np.asarray(model.span_head.bias)  # (B, T, 2)
    outputs = model(_batch())
    assert max_abs_diff(outputs["start_logits"], logits[..., 0]) <= 1e-5
    assert max_abs_diff(outputs["end_logits"], logits[..., 1]) <= 1e-5


def test_configs_and_keras_files_round_trip(tmp_path):
    backbone = BertBackbone.from_preset("test")
    tagger = BertTagger(backbone, num_classes=4, dropout=0.2, name="tagger")
    clone = BertTagger.from_config(tagger.get_config())
    assert (clone.num_classes, clone.dropout, clone.name) == (4, 0.2, "tagger")
    assert clone.backbone.get_config() == backbone.get_config()
    labeler = BertSpanLabeler(backbone, name="labeler")
    assert BertSpanLabeler.from_config(labeler.get_config()).get_config() == labeler.get_config()
    for model in (tagger, labeler):
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        restored = keras.saving.load_model(path, safe_mode=True)
        assert type(restored) is type(model)
        expected, outputs = model(_batch()), restored(_batch())
        for key in expected:
            assert max_abs_diff(outputs[key], expected[key]) == 0.0, (model.name, key)


def test_models_of_token_outputs_train_everything_but_the_unused_pooler():
    ids = keras.ops.array([[2, 7, 8, 3]])
    features = {"token_ids": ids, "segment_ids": ids * 0, "padding_mask": ids != 0}
    for model, compile_model, labels in (
        (BertTagger(BertBackbone.from_preset("test"), num_classes=3), compile_bert_token_classifier,
         {"logits": np.array([[-1, 1, 2, -1]])}),
        (BertSpanLabeler(BertBackbone.from_preset("test")), compile_bert_span_labeler,
         {"start_logits": np.array([1]), "end_logits": np.array([2])}),
    ):
        names = {v.path for v in model.trainable_variables}
        assert not any(name.startswith("pooler/") for name in names), names
        assert {v.path for v in model.backbone.weights} - names == {"pooler/kernel", "pooler/bias"}
    # Training now asks for no gradient it cannot have (one model: fitting costs a trace).
    compile_model(model, total_steps=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Gradients do not exist for variables [...pooler...]"
        model.fit(features, labels, epochs=1, verbose=0)
    classifier = BertClassifier(BertBackbone.from_preset("test"), num_classes=2)
    assert {"pooler/kernel", "pooler/bias"} <= {v.path for v in classifier.trainable_variables}


def test_tagging_loss_ignores_labels_of_minus_one():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 5, 3)).astype("float32")
    labels = np.array([[IGNORED_LABEL, 2, 0, IGNORED_LABEL, IGNORED_LABEL], [IGNORED_LABEL, 1, 1, 2, 0]])
    kept = labels >= 0
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -np.mean(np.take_along_axis(log_probs, np.maximum(labels, 0)[..., None], -1)[..., 0][kept])
    loss = MaskedSparseCategoricalCrossentropy(padding_id=IGNORED_LABEL)
    assert float(loss(labels, logits)) == pytest.approx(expected, rel=1e-5)
    # Whatever the logits at ignored positions, the loss stays.
    changed = np.where(kept[..., None], logits, 100.0 * rng.normal(size=logits.shape)).astype("float32")
    assert float(loss(labels, changed)) == pytest.approx(expected, rel=1e-5)


# --- short fits through the pipelines ----------------------------------------

WORDS = [f"w{i}" for i in range(20)]
# The tokens of the `tokenizer` fixture (conftest.py).
VOCABULARY = list(BERT_RESERVED_TOKENS) + WORDS + ["##s", "where", "?"]


def _fit(model, features, labels, epochs):
    """Fits on one batch held in memory (Keras starts a new tf.data iterator
    every epoch, which costs more than a tiny model's step)."""
    losses = model.fit(features, labels, epochs=epochs, verbose=0).history["loss"]
    assert np.all(np.isfinite(losses)), losses
    return losses


def test_token_classifier_learns_toy_tags(tokenizer):
    # Tag 1 for even-numbered words, 0 for odd ones; a plural "s" piece is ignored.
    rng = np.random.default_rng(0)
    sentences = [[f"w{i}" + "s" * int(i % 3 == 0) for i in rng.integers(0, 20, 6)] for _ in range(16)]
    tags = [[int(word.rstrip("s")[1:]) % 2 for word in sentence] for sentence in sentences]
    data = TaggingData(sentences, tags, ("odd", "even"))
    dataset = tagging_dataset(data, tokenizer, batch_size=16, max_sequence_length=16)
    backbone = BertBackbone.from_preset("test", vocabulary_size=tokenizer.vocabulary_size)
    model = BertTagger(backbone, num_classes=2, dropout=0.0)
    compile_bert_token_classifier(model, total_steps=20, peak_learning_rate=5e-3)
    (features, labels), = list(dataset)
    # The compiled loss is the mean over first pieces only: the first
    # epoch's loss is that of the initial weights.
    logits = model(features)["logits"]
    initial = MaskedSparseCategoricalCrossentropy(padding_id=IGNORED_LABEL)(labels["logits"], logits)
    losses = _fit(model, features, labels, epochs=20)
    assert losses[0] == pytest.approx(float(initial), rel=1e-4)
    assert losses[-1] < 0.5 * losses[0], losses


def test_span_labeler_learns_toy_questions(tokenizer):
    # "where wN ?" -> the position of wN in a context of other words.
    rng = np.random.default_rng(1)
    examples = []
    for i in range(8):
        words = [f"w{j}" for j in rng.permutation(20)[:8]]
        k = int(rng.integers(8))
        start = len(" ".join(words[:k] + [""]))  # characters before word k
        answer = ((words[k], start),)
        examples.append(SquadExample(str(i), "", f"where {words[k]} ?", " ".join(words), answer))
    dataset = squad_dataset(examples, tokenizer, batch_size=8, max_sequence_length=16, max_query_length=4)
    backbone = BertBackbone.from_preset("test", vocabulary_size=tokenizer.vocabulary_size)
    model = BertSpanLabeler(backbone)
    compile_bert_span_labeler(model, total_steps=30, peak_learning_rate=5e-3)
    (features, labels), = list(dataset)
    # The loss is the mean of the start and end cross-entropies.
    outputs = model(features)
    cross_entropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    initial = (float(cross_entropy(labels["start_logits"], outputs["start_logits"]))
               + float(cross_entropy(labels["end_logits"], outputs["end_logits"]))) / 2
    losses = _fit(model, features, labels, epochs=30)
    assert losses[0] == pytest.approx(initial, rel=1e-4)
    assert losses[-1] < 0.5 * losses[0], losses


def test_regressor_takes_float_scores(tokenizer):
    # What load_regression_tsv yields: (texts, float32 score).
    pairs = (tf.constant(["w1 w2", "w3", "w4 w5 w6"]), tf.constant(["w1", "w3 w3", "w7"]))
    scores = tf.data.Dataset.from_tensor_slices((pairs, tf.constant([4.5, 1.0, 2.5])))
    dataset = classification_dataset(scores, tokenizer, batch_size=3)
    assert dataset.element_spec[1]["logits"].dtype == tf.float32
    model = BertClassifier(BertBackbone.from_preset("test", vocabulary_size=tokenizer.vocabulary_size),
                           num_classes=1, dropout=0.0)
    compile_bert_regressor(model, total_steps=10)
    (features, labels), = list(dataset)
    predictions = model(features)
    expected = np.mean((np.asarray(labels["logits"]) - np.asarray(predictions["logits"])[:, 0]) ** 2)
    loss = model.compute_loss(features, labels, predictions)
    assert float(loss) == pytest.approx(expected, rel=1e-5)
