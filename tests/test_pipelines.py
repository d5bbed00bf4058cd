import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text as tf_text
from helpers import wordpiece_tokenizer

from tf_models.data.pipelines import (
    _choose_predictions,
    _truncate_pair,
    DropCounter,
    bert_pretraining_dataset,
    classification_dataset,
    documents_dataset,
    global_batch_size,
    labelled_text_dataset,
    language_model_dataset,
    masked_lm_dataset,
    pairs_dataset,
    translation_dataset,
    trim_round_robin,
    with_known_length,
)
from tf_models.data.records import ClassificationData, CorpusError, RegressionData
from tf_models.data.tokenizers import TRANSLATION_RESERVED_TOKENS
from tf_models.models import BertBackbone, BertClassifier, BertPretrainer, Transformer

NUM_DOCUMENTS, SENTENCES, WORDS = 12, 6, (3, 9)


@pytest.fixture(scope="module")
def corpus():
    """Documents whose every word is unique, so a token id tells exactly
    which document, sentence and position it came from."""
    rng = np.random.default_rng(0)
    documents = [
        [
            " ".join(f"d{d}s{s}w{w}" for w in range(rng.integers(*WORDS)))
            for s in range(SENTENCES)
        ]
        for d in range(NUM_DOCUMENTS)
    ]
    words = sorted({w for doc in documents for sentence in doc for w in sentence.split()})
    return documents, words


@pytest.fixture(scope="module")
def tokenizer(corpus, tmp_path_factory):
    """Replaces conftest.py's `tokenizer`: this one's words come from the
    `corpus` fixture, one token per word of it."""
    _, words = corpus
    # A few continuation pieces so whole-word masking has multi-piece words.
    vocabulary = list(TRANSLATION_RESERVED_TOKENS) + words + ["big", "##ger", "##gest", "a", "b"]
    return wordpiece_tokenizer(vocabulary, tmp_path_factory.mktemp("vocab"))


STRING = tf.TensorSpec([], tf.string)


def _word_position(tokenizer, token_id):
    token = tokenizer.id_to_token(token_id)
    d, rest = token[1:].split("s")
    s, w = rest.split("w")
    return int(d), int(s), int(w)


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


def test_padding_to_the_bucket_bounds_leaves_a_few_full_shapes(corpus, tokenizer):
    rng = np.random.default_rng(0)
    _, words = corpus
    sentences = [" ".join(rng.choice(words, rng.integers(1, 30))) for _ in range(600)]
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


# --- BERT pretraining --------------------------------------------------------


def _pretraining_batches(corpus, tokenizer, epochs=1, **kwargs):
    documents, _ = corpus
    options = dict(batch_size=16, max_sequence_length=64, max_predictions_per_sequence=20, seed=0)
    options.update(kwargs)
    dataset = bert_pretraining_dataset(documents, tokenizer, **options)
    return [batch for _ in range(epochs) for batch in dataset]


def _unmask(features, labels, weights):
    """Puts the original tokens back at the masked positions."""
    original = features["token_ids"].numpy().copy()
    for row in range(original.shape[0]):
        real = weights["mlm_logits"].numpy()[row] > 0
        positions = features["mask_positions"].numpy()[row][real]
        original[row, positions] = labels["mlm_logits"].numpy()[row][real]
    return original


def test_pretraining_shapes_and_packing(corpus, tokenizer):
    features, labels, weights = _pretraining_batches(corpus, tokenizer)[0]
    assert features["token_ids"].shape == (16, 64) and features["mask_positions"].shape == (16, 20)
    assert all(v.dtype == tf.int32 for v in list(features.values()) + list(labels.values()))
    ids, segments = features["token_ids"].numpy(), features["segment_ids"].numpy()
    mask = features["padding_mask"].numpy()
    assert np.all(ids[:, 0] == tokenizer.cls_id)
    for row in range(16):
        length = mask[row].sum()
        seps = np.flatnonzero(ids[row] == tokenizer.sep_id)
        assert len(seps) == 2 and seps[1] == length - 1
        np.testing.assert_array_equal(segments[row, : seps[0] + 1], 0)
        np.testing.assert_array_equal(segments[row, seps[0] + 1 : length], 1)
        assert np.all(ids[row, length:] == 0)


def test_masking_statistics(corpus, tokenizer):
    chosen = selectable = as_mask = as_original = 0
    for features, labels, weights in _pretraining_batches(corpus, tokenizer, epochs=12):
        ids = features["token_ids"].numpy()
        original = _unmask(features, labels, weights)
        special = np.isin(original, [tokenizer.cls_id, tokenizer.sep_id, 0])
        selectable += (~special).sum()
        real = weights["mlm_logits"].numpy() > 0
        positions = features["mask_positions"].numpy()
        for row in range(ids.shape[0]):
            rows_positions = positions[row][real[row]]
            assert not special[row, rows_positions].any()  # never special tokens or padding
            assert len(set(rows_positions)) == len(rows_positions)
            chosen += len(rows_positions)
            as_mask += (ids[row, rows_positions] == tokenizer.mask_id).sum()
            as_original += (ids[row, rows_positions] == original[row, rows_positions]).sum()
    assert chosen > 1000, chosen
    assert 0.13 < chosen / selectable < 0.17
    assert 0.76 < as_mask / chosen < 0.84
    # Unchanged: the 10% kept, plus random replacements that drew the same id.
    assert 0.07 < as_original / chosen < 0.14


def test_nsp_labels_are_balanced_and_next_pairs_are_consecutive(corpus, tokenizer):
    labels_seen = []
    for features, labels, weights in _pretraining_batches(corpus, tokenizer, epochs=8, max_sequence_length=128):
        original = _unmask(features, labels, weights)
        for row, label in enumerate(labels["nsp_logits"].numpy()):
            labels_seen.append(label)
            tokens = original[row][original[row] != 0]
            seps = np.flatnonzero(tokens == tokenizer.sep_id)
            first, second = tokens[1 : seps[0]], tokens[seps[0] + 1 : seps[1]]
            first_docs = {_word_position(tokenizer, t)[0] for t in first}
            second_docs = {_word_position(tokenizer, t)[0] for t in second}
            assert len(first_docs) == 1
            if label == 0:
                assert first_docs == second_docs
                # B starts exactly where A ends.
                _, s_end, w_end = _word_position(tokenizer, first[-1])
                _, s_start, w_start = _word_position(tokenizer, second[0])
                assert (s_start, w_start) in {(s_end, w_end + 1), (s_end + 1, 0)}
            else:
                assert first_docs != second_docs
    assert 0.4 < np.mean(labels_seen) < 0.65, np.mean(labels_seen)


def test_whole_word_masking_masks_every_piece_of_a_word(tokenizer, tmp_path):
    documents = [["big biggest bigger a b big bigger"] * 4, ["a b bigger biggest a"] * 4]
    continuation = {tokenizer.token_to_id("##ger"), tokenizer.token_to_id("##gest")}
    chosen_pieces = 0
    dataset = bert_pretraining_dataset(
        documents_dataset(documents), tokenizer, batch_size=8, max_sequence_length=48,
        max_predictions_per_sequence=30, whole_word_masking=True, masking_rate=0.3, seed=3,
    )
    for _ in range(5):
        for features, labels, weights in dataset:
            original = _unmask(features, labels, weights)
            for row in range(original.shape[0]):
                real = weights["mlm_logits"].numpy()[row] > 0
                chosen = set(features["mask_positions"].numpy()[row][real])
                for position in range(1, original.shape[1]):
                    if original[row, position] in continuation:
                        # a piece is chosen exactly when the piece before it is
                        assert (position in chosen) == (position - 1 in chosen)
                        chosen_pieces += position in chosen
    assert chosen_pieces > 20


def test_pretraining_masks_change_every_epoch(corpus, tokenizer):
    documents, _ = corpus
    dataset = bert_pretraining_dataset(documents_dataset(documents), tokenizer, batch_size=64, seed=0)
    first, second = next(iter(dataset)), next(iter(dataset))
    assert not np.array_equal(first[0]["token_ids"], second[0]["token_ids"])


def test_pretraining_is_reproducible_for_a_seed(corpus, tokenizer):
    # Same seed, two datasets: the same pairs and masks, epoch after epoch
    # (what resuming a run and several workers rely on).
    def flat(batches):
        return [t.numpy() for batch in batches for t in tf.nest.flatten(batch)]

    first, second = (flat(_pretraining_batches(corpus, tokenizer, epochs=2)) for _ in range(2))
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    other_seed = flat(_pretraining_batches(corpus, tokenizer, epochs=2, seed=1))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other_seed))


def test_pretraining_full_batches_only_when_asked(corpus, tokenizer):
    sizes = [b[0]["token_ids"].shape[0] for b in _pretraining_batches(corpus, tokenizer, batch_size=24)]
    assert sizes[-1] < 24  # this corpus' epoch does not fill its last batch
    full = [b[0]["token_ids"].shape for b in _pretraining_batches(corpus, tokenizer, batch_size=24, drop_remainder=True)]
    assert full and set(full) == {(24, 64)}


def _berts_truncation(length_a, length_b, max_tokens):
    """google-research/bert's truncate_seq_pair, on lengths: one token at a
    time from the longer segment (the second on a tie)."""
    while length_a + length_b > max_tokens:
        if length_a > length_b:
            length_a -= 1
        else:
            length_b -= 1
    return length_a, length_b


def test_truncation_in_closed_form_matches_berts_loop():
    rng = np.random.default_rng(0)
    tokens = np.arange(100, dtype=np.int32)
    for length_a in range(1, 40):
        for length_b in range(1, 40):
            a, b = _truncate_pair((tokens, 0, length_a), (tokens, 50, 50 + length_b), 30, rng)
            assert (a[2] - a[1], b[2] - b[1]) == _berts_truncation(length_a, length_b, 30)
            assert 0 <= a[1] <= a[2] <= length_a and 50 <= b[1] <= b[2] <= 50 + length_b


def test_masked_count_is_berts_rule():
    # round(15% of the length, specials included), at least 1, at most max.
    lengths = [4, 10, 30, 64]
    token_ids = tf.constant([[2] + [7] * (n - 2) + [3] + [0] * (64 - n) for n in lengths], tf.int32)
    specials = tf.constant([2, 3, 0], tf.int32)
    selected, positions, weights = _choose_predictions(token_ids, specials, None, 0.15, 8, tf.constant([1, 2], tf.int64))
    np.testing.assert_array_equal(weights.numpy().sum(axis=1), [1, 2, 4, 8])
    np.testing.assert_array_equal(selected.numpy().sum(axis=1), [1, 2, 4, 8])
    for row, n in enumerate([1, 2, 4, 8]):
        chosen = positions.numpy()[row, :n]
        assert np.all(np.diff(chosen) > 0) and np.all((chosen >= 1) & (chosen < lengths[row] - 1))


def test_pretraining_feeds_the_pretrainer(corpus, tokenizer):
    features, labels, weights = _pretraining_batches(corpus, tokenizer)[0]
    backbone = BertBackbone.from_preset(
        "test", vocabulary_size=tokenizer.vocabulary_size, max_sequence_length=64
    )
    outputs = BertPretrainer(backbone)(features)
    assert outputs["mlm_logits"].shape[:2] == labels["mlm_logits"].shape
    assert outputs["nsp_logits"].shape == (16, 2)


def _masked_lm_batches(corpus, tokenizer, epochs=1, **kwargs):
    documents, _ = corpus
    options = dict(batch_size=8, max_sequence_length=32, max_predictions_per_sequence=8, seed=0)
    options.update(kwargs)
    dataset = masked_lm_dataset(documents, tokenizer, **options)
    return [[batch for batch in dataset] for _ in range(epochs)]


def test_masked_lm_rows_are_packed_full_with_every_document_once_per_epoch(corpus, tokenizer):
    documents, _ = corpus
    for epoch in _masked_lm_batches(corpus, tokenizer, epochs=2, short_sequence_probability=0.0):
        rows = [row for features, labels, weights in epoch for row in _unmask(features, labels, weights)]
        assert all(row[0] == tokenizer.cls_id and row[row != 0][-1] == tokenizer.sep_id for row in rows)
        assert all(np.all(row != 0) for row in rows[:-1])  # only the last row is padded
        assert all(np.all(features["segment_ids"].numpy() == 0) for features, _, _ in epoch)
        # Between [CLS] and the last [SEP], the rows are the documents end to
        # end, [SEP] between two: each document once, whole and in order.
        stream = np.concatenate([row[row != 0][1:-1] for row in rows])
        pieces = np.split(stream, np.flatnonzero(stream == tokenizer.sep_id))
        texts = [" ".join(tokenizer.id_to_token(t) for t in piece if t != tokenizer.sep_id) for piece in pieces]
        assert sorted(texts) == sorted(" ".join(document) for document in documents)


def test_masked_lm_cuts_a_share_of_rows_short_and_loses_no_token(corpus, tokenizer):
    documents, _ = corpus
    rows = [row for features, labels, weights in _masked_lm_batches(corpus, tokenizer, short_sequence_probability=0.3,
                                                                      max_sequence_length=16)[0]
            for row in _unmask(features, labels, weights)]
    lengths = np.array([np.sum(row != 0) for row in rows[:-1]])
    assert 0.15 < np.mean(lengths < 16) < 0.45 and lengths.min() >= 4  # [CLS], 2 or more tokens, [SEP]
    stream = np.concatenate([row[row != 0][1:-1] for row in rows])
    assert np.sum(stream != tokenizer.sep_id) == sum(len(" ".join(d).split()) for d in documents)


def test_masked_lm_masks_as_bert_and_anew_each_epoch(corpus, tokenizer):
    epochs = _masked_lm_batches(corpus, tokenizer, epochs=2)
    chosen = real_tokens = 0
    for features, labels, weights in epochs[0]:
        original = _unmask(features, labels, weights)
        real = weights["mlm_logits"].numpy() > 0
        for row, positions in enumerate(features["mask_positions"].numpy()):
            picked = positions[real[row]]
            assert not np.isin(original[row, picked], [tokenizer.cls_id, tokenizer.sep_id, 0]).any()
            chosen += len(picked)
            real_tokens += (original[row] != 0).sum()
    assert 0.12 < chosen / real_tokens < 0.18
    assert set(labels) == set(weights) == {"mlm_logits"}  # no next-sentence labels
    first, second = (epoch[0][0]["token_ids"].numpy() for epoch in epochs)
    assert not np.array_equal(first, second)


def test_masked_lm_is_reproducible_for_a_seed_and_full_batches_when_asked(corpus, tokenizer):
    def flat(epochs):
        return [t.numpy() for epoch in epochs for batch in epoch for t in tf.nest.flatten(batch)]

    first, second = (flat(_masked_lm_batches(corpus, tokenizer, epochs=2)) for _ in range(2))
    assert len(first) == len(second) and all(np.array_equal(a, b) for a, b in zip(first, second))
    shapes = {batch[0]["token_ids"].shape for batch in _masked_lm_batches(corpus, tokenizer, drop_remainder=True)[0]}
    assert shapes == {(8, 32)}


def test_masked_lm_feeds_a_pretrainer_without_next_sentence_prediction(corpus, tokenizer):
    features, labels, weights = _masked_lm_batches(corpus, tokenizer)[0][0]
    backbone = BertBackbone.from_preset("test", vocabulary_size=tokenizer.vocabulary_size, max_sequence_length=32)
    outputs = BertPretrainer(backbone, next_sentence_prediction=False)(features)
    assert set(outputs) == {"mlm_logits"} and outputs["mlm_logits"].shape[:2] == labels["mlm_logits"].shape


def test_pretraining_needs_two_documents(tokenizer):
    with pytest.raises(ValueError, match="at least two documents"):
        bert_pretraining_dataset(documents_dataset([["d0s0w0 d0s0w1"]]), tokenizer)


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
