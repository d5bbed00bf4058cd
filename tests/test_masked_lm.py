"""Masked-LM pretraining data: BERT's sentence pairs (masked LM + next
sentence) and rows packed full for masked LM alone."""

import numpy as np
import pytest
import tensorflow as tf

from tf_models.data.masked_lm import (
    _choose_predictions,
    _truncate_pair,
    bert_pretraining_dataset,
    masked_lm_dataset,
)
from tf_models.data.pipelines import documents_dataset
from tf_models.data.tokenizers import TRANSLATION_RESERVED_TOKENS, WordPieceTokenizer
from tf_models.models import BertBackbone, BertPretrainer

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
    _, words = corpus
    # A few continuation pieces so whole-word masking has multi-piece words.
    vocabulary = list(TRANSLATION_RESERVED_TOKENS) + words + ["big", "##ger", "##gest", "a", "b"]
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    path.write_text("\n".join(vocabulary) + "\n")
    return WordPieceTokenizer(path)


def _word_position(tokenizer, token_id):
    token = tokenizer.id_to_token(token_id)
    d, rest = token[1:].split("s")
    s, w = rest.split("w")
    return int(d), int(s), int(w)


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
