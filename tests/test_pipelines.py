import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text as tf_text

from tf_models.data.pipelines import (
    DropCounter,
    classification_dataset,
    documents_dataset,
    global_batch_size,
    labelled_text_dataset,
    language_model_dataset,
    pairs_dataset,
    translation_dataset,
    trim_round_robin,
    with_known_length,
)
from tf_models.data.records import ClassificationData, CorpusError, RegressionData
from tf_models.data.tokenizers import TRANSLATION_RESERVED_TOKENS, WordPieceTokenizer
from tf_models.models import BertBackbone, BertClassifier, Transformer

WORDS = [f"w{i}" for i in range(400)]


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    path.write_text("\n".join([*TRANSLATION_RESERVED_TOKENS, "a", "b", *WORDS]) + "\n")
    return WordPieceTokenizer(path)


STRING = tf.TensorSpec([], tf.string)


# --- Records -> string datasets ---------------------------------------------


def test_records_become_string_datasets():
    pairs = pairs_dataset([("Hallo.", "Hello."), ("Ja!", "Yes!")])
    assert pairs.element_spec == (STRING, STRING)
    assert [(s.numpy(), t.numpy()) for s, t in pairs] == [(b"Hallo.", b"Hello."), (b"Ja!", b"Yes!")]
    assert pairs_dataset([]).cardinality() == 0

    documents = documents_dataset([["One.", "Two."], [], ["Three."]])
    assert documents.element_spec == tf.TensorSpec([None], tf.string)
    assert next(iter(documents.padded_batch(2))).shape == (2, 2)  # plain tensors, as padded_batch needs
    with pytest.raises(CorpusError, match="no non-empty documents"):
        documents_dataset([[]])

    labelled = labelled_text_dataset(ClassificationData.from_lists((["a", "b"], ["c", "d"]), [1, 0], ("x", "y")))
    assert labelled.element_spec == ((STRING, STRING), tf.TensorSpec([], tf.int32))
    (first, second), label = next(iter(labelled))
    assert (first.numpy(), second.numpy(), int(label)) == (b"a", b"c", 1)
    scored = labelled_text_dataset(RegressionData.from_lists(["a"], [2.5]))
    assert scored.element_spec == ((STRING,), tf.TensorSpec([], tf.float32))


# --- Translation -----------------------------------------------------------


def _pairs(n=40):
    return [(" ".join(["a"] * (1 + i % 7)), " ".join(["b"] * (1 + (i * 3) % 9))) for i in range(n)]


def test_translation_batches_are_framed_shifted_and_padded(tokenizer):
    dataset = translation_dataset(_pairs(), tokenizer, batch_size=8, shuffle_buffer_size=0)
    start, end, b = tokenizer.start_id, tokenizer.end_id, tokenizer.token_to_id("b")
    for inputs, labels in dataset:
        decoder, labels = inputs["decoder_token_ids"].numpy(), labels["logits"].numpy()
        assert decoder.dtype == np.int32 and labels.shape == decoder.shape
        assert np.all(decoder[:, 0] == start)
        for row_in, row_out in zip(decoder, labels):
            real = int((row_out != 0).sum())
            assert row_out[real - 1] == end and np.all(row_out[real:] == 0)
            np.testing.assert_array_equal(row_in[1:real], row_out[: real - 1])
            assert set(row_out[: real - 1]) == {b}


def test_translation_drops_or_truncates_long_pairs(tokenizer):
    counter = DropCounter()
    dropped = translation_dataset(
        _pairs(), tokenizer, batch_size=64, max_length=5, counter=counter, shuffle_buffer_size=0
    )
    kept = sum(int(inputs["encoder_token_ids"].shape[0]) for inputs, _ in dropped)
    # Sources have 1..7 tokens, targets 1..9: kept pairs have source <= 5, target <= 4.
    expected = sum(1 + i % 7 <= 5 and 1 + (i * 3) % 9 <= 4 for i in range(40))
    assert kept == expected and int(counter.seen) == 40 and int(counter.dropped) == 40 - expected
    truncated = translation_dataset(
        _pairs(), tokenizer, batch_size=64, max_length=5, overflow="truncate", shuffle_buffer_size=0
    )
    inputs, labels = next(iter(truncated))
    assert inputs["encoder_token_ids"].shape == (40, 5) and labels["logits"].shape == (40, 5)


def test_translation_bucketing_groups_similar_lengths(tokenizer):
    dataset = translation_dataset(
        _pairs(200), tokenizer, batch_size=16, bucket_boundaries=[4, 7], seed=1
    )
    total = 0
    for inputs, labels in dataset:
        lengths = np.maximum(
            (inputs["encoder_token_ids"].numpy() != 0).sum(1), (labels["logits"].numpy() != 0).sum(1)
        )
        assert np.ptp(np.searchsorted([4, 7], lengths, side="right")) == 0  # one bucket per batch
        total += len(lengths)
    assert total == 200


def _shapes_of(dataset, epochs=2):
    """The distinct batch shapes over `epochs` passes: what XLA compiles a
    program for, each."""
    return {(tuple(i["encoder_token_ids"].shape), tuple(i["decoder_token_ids"].shape), tuple(l["logits"].shape))
            for _ in range(epochs) for i, l in dataset}


def test_padding_to_the_bucket_bounds_leaves_a_few_full_shapes(tokenizer):
    rng = np.random.default_rng(0)
    sentences = [" ".join(rng.choice(WORDS, rng.integers(1, 30))) for _ in range(600)]
    pairs = list(zip(sentences, sentences[::-1]))
    options = dict(batch_size=16, max_length=32, bucket_boundaries=[8, 12, 20], seed=0)
    loose = _shapes_of(translation_dataset(pairs, tokenizer, **options))
    fixed = _shapes_of(translation_dataset(pairs, tokenizer, pad_to_bucket=True, drop_remainder=True, **options))
    assert len(loose) > 20  # padded to each batch's longest, last batches short
    # Bounds 8, 16 (12 rounded up), 24 (20), 32 (max_length): one shape each.
    assert {shape[0] for shape in fixed} <= {(16, 8), (16, 16), (16, 24), (16, 32)}
    assert all(enc == dec == labels for enc, dec, labels in fixed) and len(fixed) >= 3
    # Padding only: the same tokens, batch for batch, as without it.
    for (a, la), (b, lb) in zip(translation_dataset(pairs, tokenizer, **options),
                                translation_dataset(pairs, tokenizer, pad_to_bucket=True, **options)):
        for x, y in [(a["encoder_token_ids"], b["encoder_token_ids"]), (la["logits"], lb["logits"])]:
            np.testing.assert_array_equal(y[:, : x.shape[1]], x)
            assert not np.any(y[:, x.shape[1]:])


def test_known_length_holds_for_every_reshuffled_epoch(tokenizer):
    counter = DropCounter()
    dataset = translation_dataset(_pairs(200), tokenizer, batch_size=16, bucket_boundaries=[4, 7], seed=1,
                                  max_length=6, counter=counter)
    assert int(dataset.cardinality()) == tf.data.UNKNOWN_CARDINALITY  # filtered and bucketed
    counted = with_known_length(dataset)
    counter.reset()
    batches = int(counted.cardinality())
    assert batches > 0
    for _ in range(3):  # assert_cardinality raises if a pass yields another count
        assert sum(1 for _ in counted) == batches
    assert int(counter.seen) == 3 * 200 and int(counter.dropped) > 0


def test_translation_feeds_the_transformer(tokenizer):
    dataset = translation_dataset(_pairs(), tokenizer, batch_size=8)
    model = Transformer.from_preset("test", vocabulary_size=tokenizer.vocabulary_size)
    inputs, labels = next(iter(dataset))
    assert set(inputs) == {spec.name for spec in tf.nest.flatten(model.input)}
    assert model(inputs)["logits"].shape[:2] == labels["logits"].shape


# --- Classification ----------------------------------------------------------


def test_classification_packs_single_sentences_and_pairs(tokenizer):
    cls, sep = tokenizer.cls_id, tokenizer.sep_id
    single = ClassificationData.from_lists(["a a a", "b"], [0, 1], ("no", "yes"))
    features, labels = next(iter(classification_dataset(single, tokenizer, batch_size=2)))
    np.testing.assert_array_equal(features["token_ids"][1], [cls, tokenizer.token_to_id("b"), sep, 0, 0])
    np.testing.assert_array_equal(features["padding_mask"][1], [1, 1, 1, 0, 0])
    np.testing.assert_array_equal(labels["logits"], [0, 1])

    pairs = tf.data.Dataset.from_tensor_slices(((["a a a a a a"], ["b b"]), [1]))
    features, _ = next(iter(classification_dataset(pairs, tokenizer, max_sequence_length=7)))
    a, b = tokenizer.token_to_id("a"), tokenizer.token_to_id("b")
    # 7 = [CLS] + 2 x a + [SEP] + 2 x b + [SEP]: the longer segment was trimmed.
    np.testing.assert_array_equal(features["token_ids"][0], [cls, a, a, sep, b, b, sep])
    np.testing.assert_array_equal(features["segment_ids"][0], [0, 0, 0, 0, 1, 1, 1])


def test_classification_feeds_the_classifier(tokenizer):
    data = tf.data.Dataset.from_tensor_slices(((["a b", "b a a"], ["a", "b"]), [0, 2]))
    features, labels = next(iter(classification_dataset(data, tokenizer, batch_size=2)))
    backbone = BertBackbone.from_preset("test", vocabulary_size=tokenizer.vocabulary_size)
    assert BertClassifier(backbone, 3)(features)["logits"].shape == (2, 3)



def test_global_batch_size_scales_with_replicas():
    assert global_batch_size(8) == 8
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    assert global_batch_size(8, strategy) == 8 * strategy.num_replicas_in_sync
    keras.config.set_dtype_policy("float32")


@pytest.mark.parametrize("budget", [0, 1, 4, 7, 30])
def test_trim_round_robin_equals_tensorflow_text_trimmer(budget):
    rng = np.random.default_rng(budget)
    lengths = rng.integers(0, 12, size=(40, 2))
    first = tf.ragged.constant([list(range(n)) for n in lengths[:, 0]], dtype=tf.int32, ragged_rank=1)
    second = tf.ragged.constant([list(range(100, 100 + n)) for n in lengths[:, 1]], dtype=tf.int32,
                                ragged_rank=1)
    ours = trim_round_robin([first, second], budget)
    reference = tf_text.RoundRobinTrimmer(budget).trim([first, second])
    for mine, theirs in zip(ours, reference):
        assert mine.to_list() == theirs.to_list()
    assert trim_round_robin([first], budget)[0].to_list() == tf_text.RoundRobinTrimmer(budget).trim([first])[0].to_list()


def test_language_model_windows_predict_every_token_once():
    stream = np.arange(1, 24, dtype="int32")  # 23 tokens
    training = list(language_model_dataset(stream, sequence_length=5, batch_size=2, seed=0))
    assert all(inputs["token_ids"].shape == (2, 5) for inputs, _ in training)  # full batches only
    inputs, labels = training[0]
    np.testing.assert_array_equal(labels["logits"][:, :-1], inputs["token_ids"][:, 1:])  # shifted by one
    evaluation = list(language_model_dataset(stream, 5, batch_size=2, shuffle=False, drop_remainder=False))
    predicted = np.concatenate([labels["logits"].numpy().ravel() for _, labels in evaluation])
    np.testing.assert_array_equal(predicted[predicted > 0], stream[1:])  # each once, padding 0 after
    last_inputs, _ = evaluation[-1]
    assert last_inputs["padding_mask"].numpy().sum() < last_inputs["padding_mask"].numpy().size
