"""Masked-LM pretraining data: documents -> `BertPretrainer` batches.

Two ways to cut documents into pretraining inputs, masked alike:

* `bert_pretraining_dataset`: BERT's sentence pairs, `[CLS] A [SEP] B [SEP]`,
  with masked-LM and next-sentence labels, as google-research/bert's
  `create_pretraining_data.py` makes them but drawn anew every epoch.
* `masked_lm_dataset`: masked-LM labels alone, on documents packed full
  into rows (RoBERTa's "full-sentences"): no next sentence, no padding.

An epoch's pairs or rows are cut from the tokenized documents in NumPy at
once; masking (BERT's 80/10/10, optionally of whole words) runs in the graph
on whole batches, with stateless random numbers seeded per batch, so a
seeded dataset gives the same batches in every run, process and worker.
"""

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text

from tf_models.data.pipelines import as_dataset, documents_dataset, pad_features

def bert_pretraining_dataset(
    documents,
    tokenizer,
    batch_size=32,
    max_sequence_length=128,
    max_predictions_per_sequence=20,
    masking_rate=0.15,
    mask_token_rate=0.8,
    random_token_rate=0.1,
    whole_word_masking=False,
    short_sequence_probability=0.1,
    seed=None,
    drop_remainder=False,
):
    """Builds masked-LM + next-sentence-prediction batches for `BertPretrainer`.

    As google-research/bert's `create_pretraining_data.py`, but dynamic:
    every pass over the dataset draws new sentence pairs and new masks. The
    pairs of an epoch are cut from the tokenized documents in NumPy at once;
    masking runs in the graph on whole batches, in parallel, with stateless
    random numbers seeded per batch, so a seeded dataset is reproducible
    (run to run, process to process, worker to worker).

    1. Sentence pairs: sentences of a document are gathered up to the target
       length and split at a random point into A and B. Half of the time
       (always, when there is a single sentence) B is replaced by text from a
       random other document: NSP label 1 ("random"); otherwise label 0
       ("B follows A"). 10% of pairs get a shorter random target length.
    2. Packing: `[CLS] A [SEP] B [SEP]` with segment ids 0/1, the longer
       segment trimmed until it fits `max_sequence_length`.
    3. Masking: `masking_rate` of each sequence's length (at least one; never
       `[CLS]`, `[SEP]` or padding),
       at most `max_predictions_per_sequence`, are chosen; of those 80%
       become `[MASK]`, 10% a random token, 10% stay. With
       `whole_word_masking`, all pieces of a word are chosen together.

    Args:
        documents: a list of documents, each a list of sentence strings (or
            a `tf.data.Dataset` of 1-D string tensors). At least two
            documents are needed.
        tokenizer: a `WordPieceTokenizer` with `[CLS]`, `[SEP]`, `[MASK]`.
        batch_size: global batch size.
        max_sequence_length: packed length, special tokens included.
        max_predictions_per_sequence: most masked positions per sequence.
        masking_rate: fraction of tokens chosen for prediction.
        mask_token_rate: fraction of chosen tokens replaced by `[MASK]`.
        random_token_rate: fraction replaced by a random token.
        whole_word_masking: choose whole words (all their `##` pieces).
        short_sequence_probability: chance of a shorter target length.
        seed: seed of pair sampling and masking: two datasets with the same
            seed give the same batches, epoch after epoch.
        drop_remainder: drop each epoch's last, partial batch (every batch
            then has one shape, as XLA wants).

    Returns:
        A dataset of `(features, labels, sample_weights)`: features
        `token_ids, segment_ids, padding_mask` `(B, max_sequence_length)` and
        `mask_positions` `(B, max_predictions_per_sequence)`; labels
        `{"mlm_logits": mlm_ids, "nsp_logits": nsp_label}`; sample weights
        `{"mlm_logits": mlm_weights, "nsp_logits": 1}`, where `mlm_weights`
        is 1 for real predictions and 0 for padding. All int32 but the
        float32 weights.
    """
    documents = _tokenize_documents(as_dataset(documents, documents_dataset), tokenizer)
    if len(documents) < 2:
        raise ValueError("BERT pretraining needs at least two documents for NSP.")
    max_tokens = max_sequence_length - 3  # room for [CLS] A [SEP] B [SEP]
    # One generator for the dataset's whole life: each pass over it is the
    # next epoch (new pairs, new masking seed); two datasets built with the
    # same seed give the same epochs.
    rng = np.random.default_rng(seed)

    def epoch():  # a single element: the whole epoch's pairs as flat arrays
        yield (*_epoch_pairs(documents, max_tokens, short_sequence_probability, rng),
               rng.integers(0, 2**31 - 1, 2))

    vector = tf.TensorSpec([None], tf.int32)
    flat_epoch = tf.data.Dataset.from_generator(epoch, output_signature=(vector, vector, vector, vector, vector,
                                                                         tf.TensorSpec([2], tf.int64)))

    def batches_of(first, first_lengths, second, second_lengths, nsp_labels, epoch_seed):
        pairs = tf.data.Dataset.from_tensor_slices((
            tf.RaggedTensor.from_row_lengths(first, first_lengths),
            tf.RaggedTensor.from_row_lengths(second, second_lengths),
            nsp_labels,
        ))
        return _batches_with_seeds(pairs, batch_size, drop_remainder, epoch_seed)

    mask = _masker(tokenizer, max_predictions_per_sequence, masking_rate, mask_token_rate, random_token_rate,
                   whole_word_masking)

    def pack_and_mask(pair, batch_seed):
        first, second, nsp_labels = pair  # ragged (B, None) x 2, (B,)
        token_ids, segment_ids = tf_text.combine_segments([first, second], tokenizer.cls_id, tokenizer.sep_id)
        features, mlm_targets, mlm_weights = mask(pad_features(token_ids, segment_ids, max_sequence_length),
                                                  batch_seed)
        labels = {"mlm_logits": mlm_targets, "nsp_logits": nsp_labels}
        sample_weights = {"mlm_logits": mlm_weights, "nsp_logits": tf.ones_like(nsp_labels, tf.float32)}
        return features, labels, sample_weights

    return (
        flat_epoch.flat_map(batches_of)
        .map(pack_and_mask, num_parallel_calls=tf.data.AUTOTUNE)  # deterministic order by default
        .prefetch(tf.data.AUTOTUNE)
    )


def masked_lm_dataset(
    documents,
    tokenizer,
    batch_size=32,
    max_sequence_length=128,
    max_predictions_per_sequence=20,
    masking_rate=0.15,
    mask_token_rate=0.8,
    random_token_rate=0.1,
    whole_word_masking=False,
    short_sequence_probability=0.0,
    seed=None,
    drop_remainder=False,
):
    """Builds masked-LM batches for a `BertPretrainer` without NSP, packed full.

    RoBERTa's input (Liu et al. 2019, "full-sentences"): each epoch the
    documents are put in a new random order, joined into one stream with
    `[SEP]` between them, and cut into rows of `max_sequence_length - 2`
    tokens, each read as `[CLS] row [SEP]`. So the encoder spends its
    compute on text; BERT's sentence pairs (`bert_pretraining_dataset`) pad
    every pair that its document is too short to fill. BERT also cut 10% of
    its inputs short, so that the short inputs of fine-tuning are not new
    to the model; `short_sequence_probability` does that here (padded), off
    by default as in RoBERTa: a pretraining run with 10% short rows
    fine-tuned no better than the same run without (`benchmarks/README.md`).
    Masking is the same as there, and as reproducible.

    Args:
        documents: a list of documents, each a list of sentence strings (or
            a `tf.data.Dataset` of 1-D string tensors).
        tokenizer: a `WordPieceTokenizer` with `[CLS]`, `[SEP]`, `[MASK]`.
        batch_size: global batch size.
        max_sequence_length: packed length, special tokens included.
        max_predictions_per_sequence: most masked positions per sequence.
        masking_rate: fraction of tokens chosen for prediction.
        mask_token_rate: fraction of chosen tokens replaced by `[MASK]`.
        random_token_rate: fraction replaced by a random token.
        whole_word_masking: choose whole words (all their `##` pieces).
        short_sequence_probability: chance that a row is cut to a random
            shorter length (2 tokens to full).
        seed: seed of the document order and masking.
        drop_remainder: drop each epoch's last, partial row and batch (every
            batch then has one shape, as XLA wants).

    Returns:
        A dataset of `(features, labels, sample_weights)`: features
        `token_ids, segment_ids` (all 0), `padding_mask` `(B,
        max_sequence_length)` and `mask_positions` `(B,
        max_predictions_per_sequence)`; labels `{"mlm_logits": mlm_ids}`;
        sample weights `{"mlm_logits": mlm_weights}`.

    Example:
    >>> import tempfile
    >>> from tf_models.data import WordPieceTokenizer
    >>> path = tempfile.mkdtemp() + "/vocab.txt"
    >>> _ = open(path, "w").write("[PAD]\\n[UNK]\\n[CLS]\\n[SEP]\\n[MASK]\\na\\nb\\nc\\n")
    >>> data = masked_lm_dataset([["a b c a"], ["b c"]], WordPieceTokenizer(path), batch_size=3,
    ...                          max_sequence_length=5, max_predictions_per_sequence=2, seed=0)
    >>> features, labels, weights = next(iter(data))
    >>> features["padding_mask"].numpy().tolist()  # 7 tokens (one a [SEP]): rows of 3, 3 and 1
    [[1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]
    >>> labels["mlm_logits"].shape
    TensorShape([3, 2])
    """
    documents = _tokenize_documents(as_dataset(documents, documents_dataset), tokenizer)
    if not documents:
        raise ValueError("masked-LM pretraining needs at least one non-empty document.")
    row_length = max_sequence_length - 2  # room for [CLS] row [SEP]
    rng = np.random.default_rng(seed)  # for the dataset's whole life, as in bert_pretraining_dataset

    def epoch():  # a single element: the whole epoch's rows, flat
        tokens, lengths = _epoch_rows(documents, tokenizer.sep_id, row_length, short_sequence_probability,
                                      drop_remainder, rng)
        yield tokens, lengths, rng.integers(0, 2**31 - 1, 2)

    vector = tf.TensorSpec([None], tf.int32)
    flat_epoch = tf.data.Dataset.from_generator(epoch, output_signature=(vector, vector, tf.TensorSpec([2], tf.int64)))

    def batches_of(tokens, lengths, epoch_seed):
        rows = tf.data.Dataset.from_tensor_slices(tf.RaggedTensor.from_row_lengths(tokens, lengths))
        return _batches_with_seeds(rows, batch_size, drop_remainder, epoch_seed)

    mask = _masker(tokenizer, max_predictions_per_sequence, masking_rate, mask_token_rate, random_token_rate,
                   whole_word_masking)

    def pack_and_mask(rows, batch_seed):  # ragged (B, None)
        token_ids, segment_ids = tf_text.combine_segments([rows], tokenizer.cls_id, tokenizer.sep_id)
        features, mlm_targets, mlm_weights = mask(pad_features(token_ids, segment_ids, max_sequence_length),
                                                  batch_seed)
        return features, {"mlm_logits": mlm_targets}, {"mlm_logits": mlm_weights}

    return (
        flat_epoch.flat_map(batches_of)
        .map(pack_and_mask, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def _batches_with_seeds(examples, batch_size, drop_remainder, epoch_seed):
    """`examples` in batches, each with its own masking seed drawn from
    `epoch_seed`: masking then runs on batches in parallel and still gives
    the same batches in every run."""
    batch_seeds = tf.data.Dataset.range(tf.int64.max).map(
        lambda index: tf.random.experimental.stateless_fold_in(epoch_seed, index))
    return tf.data.Dataset.zip(examples.batch(batch_size, drop_remainder=drop_remainder), batch_seeds)


def _masker(tokenizer, max_predictions, masking_rate, mask_token_rate, random_token_rate, whole_word_masking):
    """The masking step both pretraining pipelines share: a function of
    `(features, batch_seed)` that chooses the masked-LM positions and
    replaces their tokens (BERT's 80/10/10); it returns the features with
    `mask_positions` added, the original ids there and their float32 weights."""
    is_continuation = tf.constant([t.startswith("##") for t in tokenizer.vocabulary]) if whole_word_masking else None
    special_ids = tf.constant([tokenizer.cls_id, tokenizer.sep_id, tokenizer.padding_id], tf.int32)

    def mask(features, batch_seed):
        token_ids = features["token_ids"]  # (B, T)
        selected, positions, weights = _choose_predictions(
            token_ids, special_ids, is_continuation, masking_rate, max_predictions, batch_seed)
        targets = tf.gather(token_ids, positions, batch_dims=1) * weights  # (B, P)
        features = {**features, "mask_positions": positions, "token_ids": _replace_chosen(
            token_ids, selected, tokenizer.mask_id, tokenizer.vocabulary_size, mask_token_rate, random_token_rate,
            batch_seed)}
        return features, targets, tf.cast(weights, tf.float32)

    return mask


def _tokenize_documents(documents, tokenizer):
    """Documents -> `(tokens, sentence_starts)` per document: its sentences'
    int32 ids end to end, and where each sentence starts (empty ones dropped)."""
    tokenized = []
    for sentences in documents.map(tokenizer.tokenize).prefetch(tf.data.AUTOTUNE):
        lengths = sentences.row_lengths().numpy()
        if lengths.sum():
            tokens = sentences.flat_values.numpy().astype(np.int32)
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])[lengths > 0]
            tokenized.append((tokens, starts))
    return tokenized


def _epoch_pairs(documents, max_tokens, short_sequence_probability, rng):
    """One epoch of `(A, B, nsp_label)` triples, in the way of BERT's
    `create_instances_from_document`: label 0 when B follows A, 1 when B is
    taken from a random other document. Each pair is two slices of a
    document's tokens; returned flat, as `first, first_lengths, second,
    second_lengths, labels` (int32 arrays)."""
    pieces, labels = [], []
    for doc_index in rng.permutation(len(documents)):
        tokens, starts = documents[doc_index]
        ends = np.append(starts[1:], len(tokens))
        target = max_tokens
        if rng.random() < short_sequence_probability:
            target = int(rng.integers(2, max_tokens + 1))
        first_sentence, i = 0, 0
        while i < len(starts):
            chunk = i - first_sentence + 1  # sentences gathered: first_sentence..i
            if i == len(starts) - 1 or ends[i] - starts[first_sentence] >= target:
                split = first_sentence + (int(rng.integers(1, chunk)) if chunk >= 2 else 1)
                a = (tokens, starts[first_sentence], ends[split - 1])
                if chunk == 1 or rng.random() < 0.5:
                    label = 1
                    b = _random_continuation(documents, doc_index, target - (a[2] - a[1]), rng)
                    i = split - 1  # the unused sentences go back
                else:
                    label = 0
                    b = (tokens, starts[split], ends[i])
                a, b = _truncate_pair(a, b, max_tokens, rng)
                if a[2] > a[1] and b[2] > b[1]:
                    pieces.append((a, b))
                    labels.append(label)
                first_sentence = i + 1
            i += 1
    flat = {}
    for side in (0, 1):
        slices = [pair[side] for pair in pieces]
        flat[side] = (np.concatenate([t[s:e] for t, s, e in slices] or [np.zeros(0, np.int32)]),
                      np.array([e - s for _, s, e in slices], np.int32))
    return (*flat[0], *flat[1], np.array(labels, np.int32))


def _epoch_rows(documents, sep_id, row_length, short_sequence_probability, drop_remainder, rng):
    """One epoch of masked-LM rows, RoBERTa's "full-sentences": the documents
    in a new random order, joined with `sep_id` between two and cut into rows
    of `row_length` tokens, the last row what is left (dropped if short,
    with `drop_remainder`). Returned flat, as `tokens, row_lengths` (int32
    arrays)."""
    order = rng.permutation(len(documents))
    stream = np.concatenate([piece for i in order for piece in (documents[i][0], [sep_id])][:-1])
    # Row lengths: full, or with `short_sequence_probability` a random
    # shorter one, so that short inputs are not new to the model.
    lengths = np.full(len(stream) // 2 + 1, row_length)
    short = rng.random(len(lengths)) < short_sequence_probability
    lengths[short] = rng.integers(2, row_length + 1, int(short.sum()))
    ends = np.cumsum(lengths)
    count = int(np.searchsorted(ends, len(stream)))  # rows that end inside the stream (or at its end)
    lengths = lengths[: count + 1]
    lengths[-1] = len(stream) - (ends[count - 1] if count else 0)  # the last row: what is left
    if drop_remainder and lengths[-1] < row_length:
        lengths = lengths[:-1]
    return stream[: lengths.sum()].astype(np.int32), lengths.astype(np.int32)


def _random_continuation(documents, doc_index, length, rng):
    """Up to `length` tokens from a random sentence start of another document."""
    other = doc_index
    while other == doc_index:
        other = int(rng.integers(len(documents)))
    tokens, starts = documents[other]
    start = int(starts[rng.integers(len(starts))])
    return tokens, start, min(start + max(length, 1), len(tokens))


def _truncate_pair(first, second, max_tokens, rng):
    """Trims `(tokens, start, end)` slices to fit `max_tokens`, as BERT's
    `truncate_seq_pair`: one token at a time from the longer segment (the
    second on a tie), from its front or back at random. Done in closed form:
    the longer loses the difference first, then the two take turns."""
    length_a, length_b = first[2] - first[1], second[2] - second[1]
    excess = length_a + length_b - max_tokens
    if excess <= 0:
        return first, second
    gap = abs(length_a - length_b)
    from_longer = min(excess, gap)
    turns = excess - from_longer  # alternate, starting with the second
    cut_a, cut_b = turns // 2, turns - turns // 2
    if length_a > length_b:
        cut_a += from_longer
    else:
        cut_b += from_longer

    def cut(piece, count):
        tokens, start, end = piece
        front = int(rng.binomial(count, 0.5)) if count else 0
        return tokens, start + front, end - (count - front)

    return cut(first, cut_a), cut(second, cut_b)


def _choose_predictions(token_ids, special_ids, is_continuation, rate, max_predictions, seed):
    """Chooses the masked-LM positions of a batch, as BERT does: `rate` of
    each sequence's length (at least one, at most `max_predictions`), in
    random order, never special tokens or padding. With `is_continuation`
    (whole-word masking) a word's pieces are chosen together: words are taken
    in random order until the next would pass the count.

    Args:
        token_ids: `(B, T)` int32 packed ids, 0-padded.
        special_ids: ids never chosen.
        is_continuation: `(V,)` bool, `##` pieces, or None for single pieces.
        rate, max_predictions, seed: as their names say.

    Returns:
        `selected` `(B, T)` bool, `positions` `(B, P)` int32 in increasing
        order then 0-padded, and `weights` `(B, P)` int32 (1 for a real
        position).
    """
    length = tf.shape(token_ids)[1]
    candidate = tf.logical_not(tf.reduce_any(token_ids[..., None] == special_ids, axis=-1))  # (B, T)
    real_length = tf.reduce_sum(tf.cast(token_ids != 0, tf.float32), axis=1)  # (B,)
    count = tf.minimum(tf.cast(max_predictions, tf.int32), tf.maximum(1, tf.cast(tf.round(real_length * rate), tf.int32)))
    positions = tf.broadcast_to(tf.range(length), tf.shape(token_ids))  # (B, T)
    if is_continuation is None:
        words = positions
    else:  # word index of each piece: a piece that is not `##` starts a word
        starts_word = tf.logical_not(tf.gather(is_continuation, token_ids)) | (positions == 0)
        words = tf.cumsum(tf.cast(starts_word, tf.int32), axis=1) - 1
    scores = tf.gather(tf.random.stateless_uniform(tf.shape(token_ids), seed), words, batch_dims=1)  # (B, T)
    # Candidates by decreasing score (a word's pieces stay together, in order).
    order = tf.argsort(tf.where(candidate, scores, -1.0), axis=1, direction="DESCENDING", stable=True)
    taken_so_far = tf.cumsum(tf.cast(tf.gather(candidate, order, batch_dims=1), tf.int32), axis=1)
    taken = tf.gather(taken_so_far, tf.argsort(order, axis=1), batch_dims=1)  # back in position order
    if is_continuation is not None:  # a word is in only if its last piece is
        rows = tf.shape(token_ids)[0]
        segments = tf.range(rows)[:, None] * length + words
        word_taken = tf.math.unsorted_segment_max(taken, segments, rows * length)
        taken = tf.gather(word_taken, segments)
    selected = candidate & (taken <= count[:, None])
    # The selected positions first, in increasing order, then the rest.
    first_selected = tf.argsort(tf.where(selected, positions, positions + length), axis=1, stable=True)
    first_selected = first_selected[:, :max_predictions]
    weights = tf.cast(tf.gather(selected, first_selected, batch_dims=1), tf.int32)
    return selected, first_selected * weights, weights


def _replace_chosen(token_ids, selected, mask_id, vocabulary_size, mask_rate, random_rate, seed):
    """BERT's 80/10/10: of the selected tokens, `mask_rate` become `[MASK]`,
    `random_rate` a random id, the rest stay."""
    draw_seed, token_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    draw = tf.random.stateless_uniform(tf.shape(token_ids), draw_seed)
    random_ids = tf.random.stateless_uniform(tf.shape(token_ids), token_seed, maxval=vocabulary_size, dtype=tf.int32)
    replaced = tf.where(selected & (draw < mask_rate), mask_id, token_ids)
    return tf.where(selected & (draw >= mask_rate) & (draw < mask_rate + random_rate), random_ids, replaced)

