"""tf.data pipelines that turn corpora into exactly what the models take.

This is where the plain Python records of `tf_models.data.records` become
`tf.data`: first as datasets of strings (`pairs_dataset`,
`documents_dataset`, `labelled_text_dataset`), then as model batches:

* `translation_dataset`: sentence pairs -> `Transformer` inputs and labels.
* `bert_pretraining_dataset`: documents -> `BertPretrainer` inputs, masked-LM
  and next-sentence labels, with masking redone every epoch.
* `masked_lm_dataset`: documents -> masked-LM inputs and labels alone, in
  sequences packed full (no next sentence, no padding).
* `classification_dataset`: labelled single sentences or pairs ->
  `BertClassifier` inputs and labels.
* `language_model_dataset`: documents -> `CausalLM` windows of a token
  stream and their next tokens.

Token tagging and question answering (SQuAD) are in `tf_models.data.tagging_and_squad`.

`batch_size` is always the global batch size: under a `tf.distribute`
strategy Keras splits each batch across the replicas, so use
`global_batch_size(per_replica_batch_size)` to keep the per-replica size.
"""

import logging

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text

from tf_models.data.records import CorpusError, RegressionData

logger = logging.getLogger(__name__)

# Tokenize in batches of this many strings: much faster than one by one.
_TOKENIZE_BATCH = 256


def global_batch_size(per_replica_batch_size, strategy=None):
    """The global batch size for a per-replica size under a strategy.

    Args:
        per_replica_batch_size: examples each replica processes per step.
        strategy: a `tf.distribute.Strategy`; defaults to the current one.

    Example:
    >>> global_batch_size(32)  # the default strategy has one replica
    32
    """
    strategy = strategy or tf.distribute.get_strategy()
    return per_replica_batch_size * strategy.num_replicas_in_sync


class DropCounter(tf.Module):
    """Counts examples seen and dropped by a pipeline's length filter.

    The counts grow as the dataset is iterated (one full pass = one epoch).

    Example:
    >>> counter = DropCounter()
    >>> int(counter.dropped)
    0
    """

    def __init__(self, name=None):
        super().__init__(name=name)
        self.seen = tf.Variable(0, dtype=tf.int64, trainable=False, name="seen")
        self.dropped = tf.Variable(0, dtype=tf.int64, trainable=False, name="dropped")

    def update(self, keep):
        self.seen.assign_add(1)
        self.dropped.assign_add(tf.cast(tf.logical_not(keep), tf.int64))
        return keep

    def reset(self):
        self.seen.assign(0)
        self.dropped.assign(0)

    def __str__(self):
        return f"dropped {int(self.dropped)} of {int(self.seen)} examples"


def with_known_length(dataset):
    """`dataset` with its number of elements counted once and asserted.

    Filtering and bucketing leave the number of batches unknown to
    `tf.data`, so Keras' progress bar counts "n/Unknown" through the first
    epoch and warns that the input "ran out of data" at its end. The count
    holds for every later pass as long as each pass yields as many elements
    (reshuffling within one pass does not change it).

    Example:
    >>> data = tf.data.Dataset.range(10).filter(lambda x: x % 2 == 0)
    >>> int(data.cardinality()) < 0, int(with_known_length(data).cardinality())
    (True, 5)
    """
    count = int(dataset.reduce(np.int64(0), lambda count, _: count + 1))
    return dataset.apply(tf.data.experimental.assert_cardinality(count))


# ------------------------------------------------------ records -> strings


def pairs_dataset(pairs):
    """A dataset of `(source, target)` scalar strings from a list of string pairs.

    Example:
    >>> [(s.numpy(), t.numpy()) for s, t in pairs_dataset([("Hallo!", "Hello!")])]
    [(b'Hallo!', b'Hello!')]
    """
    pairs = list(pairs)
    sources = tf.constant([source for source, _ in pairs], tf.string, shape=[len(pairs)])
    targets = tf.constant([target for _, target in pairs], tf.string, shape=[len(pairs)])
    return tf.data.Dataset.from_tensor_slices((sources, targets))


def documents_dataset(documents):
    """A dataset with one element per document: a 1-D string tensor of sentences.

    Empty documents are dropped and their number logged.

    Example:
    >>> ds = documents_dataset([["One.", "Two."], [], ["Three."]])
    >>> [doc.numpy().tolist() for doc in ds]
    [[b'One.', b'Two.'], [b'Three.']]
    """
    documents = [list(document) for document in documents]
    kept = [document for document in documents if document]
    if len(kept) < len(documents):
        logger.info("dropped %d empty documents", len(documents) - len(kept))
    if not kept:
        raise CorpusError("no non-empty documents")
    # Flat values plus row lengths: much faster than tf.ragged.constant on
    # nested Python lists, which walks every string in Python.
    sentences = tf.constant([sentence for document in kept for sentence in document], tf.string)
    lengths = tf.constant([len(document) for document in kept], tf.int64)
    ragged = tf.RaggedTensor.from_row_lengths(sentences, lengths)  # (documents, None)
    documents = tf.data.Dataset.from_tensor_slices(ragged)
    # Slices of a ragged tensor come typed as RaggedTensorSpec, which
    # padded_batch and friends refuse; tf.identity makes them plain tensors.
    return documents.map(tf.identity)


def labelled_text_dataset(data):
    """A dataset of `(texts, label)` from `ClassificationData` or `RegressionData`.

    `texts` is a tuple of one or two scalar strings; `label` an int32 class
    index, or a float32 score for `RegressionData`.

    Example:
    >>> from tf_models.data.records import ClassificationData
    >>> data = ClassificationData.from_lists(["good", "bad"], [1, 0], ("neg", "pos"))
    >>> (texts, label), = labelled_text_dataset(data).take(1)
    >>> texts[0].numpy(), int(label)
    (b'good', 1)
    """
    count = len(data)
    columns = tuple(tf.constant(list(column), tf.string, shape=[count]) for column in data.texts)
    label_type = tf.float32 if isinstance(data, RegressionData) else tf.int32
    labels = tf.constant(list(data.labels), label_type, shape=[count])
    return tf.data.Dataset.from_tensor_slices((columns, labels))


def _as_dataset(records, to_dataset):
    """`records` as a `tf.data.Dataset` (a dataset passes through unchanged)."""
    return records if isinstance(records, tf.data.Dataset) else to_dataset(records)


# ------------------------------------------------------ strings -> batches


def _tokenize_unbatched(dataset, tokenize):
    """Maps a per-example tokenizer over a dataset, tokenizing in batches."""
    return (
        dataset.batch(_TOKENIZE_BATCH)
        .map(tokenize, num_parallel_calls=tf.data.AUTOTUNE)
        .unbatch()
    )


def translation_dataset(
    pairs,
    source_tokenizer,
    target_tokenizer=None,
    batch_size=64,
    max_length=64,
    overflow="drop",
    bucket_boundaries=None,
    shuffle_buffer_size=10_000,
    seed=None,
    drop_remainder=False,
    counter=None,
    pad_to_bucket=False,
):
    """Builds `(inputs, labels)` batches for the `Transformer`.

    Each target is framed as `[START] tokens [END]` and shifted: the decoder
    reads `[START] tokens` and learns to predict `tokens [END]`.

    Args:
        pairs: a list of `(source, target)` strings, or a `tf.data.Dataset`
            of such scalar string pairs.
        source_tokenizer: tokenizer of the source language.
        target_tokenizer: tokenizer of the target language (with `[START]`
            and `[END]`); defaults to `source_tokenizer`.
        batch_size: global batch size (sentences per batch).
        max_length: longest source, and longest decoder input, in tokens.
        overflow: `"drop"` pairs that are too long (counted by `counter`)
            or `"truncate"` them.
        bucket_boundaries: optional increasing lengths; batches then hold
            sentences of similar length, which wastes less padding.
        shuffle_buffer_size: pairs shuffled together (0 or None: no shuffle).
        seed: shuffle seed.
        drop_remainder: drop the last short batch (for fixed shapes).
        counter: optional `DropCounter` for pairs dropped as too long.
        pad_to_bucket: pad the sources and targets of a batch alike to the
            first of its bounds that holds its longest sentence: the
            `bucket_boundaries` and `max_length`, rounded up to multiples of
            8. Batches then come in at most `len(bucket_boundaries) + 1`
            shapes (with `drop_remainder`), so XLA (`jit_compile`) compiles
            a few programs instead of one per new shape.

    Returns:
        A dataset of `({"encoder_token_ids", "decoder_token_ids"},
        {"logits": labels})`, int32, padded with 0 to the longest in the batch
        (or to its bound, with `pad_to_bucket`).

    Example:
    >>> import tempfile
    >>> from tf_models.data.tokenizers import train_wordpiece_tokenizer
    >>> texts = ["a cat sat", "a dog ran", "the cat ran"]
    >>> tokenizer = train_wordpiece_tokenizer(
    ...     tf.data.Dataset.from_tensor_slices(texts * 10), 60,
    ...     tempfile.mkdtemp() + "/vocab.txt",
    ...     reserved_tokens=["[PAD]", "[UNK]", "[START]", "[END]"])
    >>> pairs = list(zip(texts, texts))
    >>> inputs, labels = next(iter(translation_dataset(pairs, tokenizer, batch_size=3)))
    >>> inputs["decoder_token_ids"].shape, labels["logits"].shape
    (TensorShape([3, 4]), TensorShape([3, 4]))
    """
    target_tokenizer = target_tokenizer or source_tokenizer
    start, end = target_tokenizer.start_id, target_tokenizer.end_id
    if start is None or end is None:
        raise ValueError("The target tokenizer needs [START] and [END] tokens.")
    if overflow not in ("drop", "truncate"):
        raise ValueError(f"overflow must be 'drop' or 'truncate', got {overflow!r}.")

    def tokenize(source, target):  # (B,), (B,) strings
        return source_tokenizer.tokenize(source), target_tokenizer.tokenize(target)

    def fits(source_ids, target_ids):
        # The decoder input is [START] + target: one token longer.
        keep = tf.logical_and(
            tf.size(source_ids) <= max_length, tf.size(target_ids) + 1 <= max_length
        )
        return counter.update(keep) if counter is not None else keep

    def truncate(source_ids, target_ids):
        return source_ids[:max_length], target_ids[: max_length - 1]

    def frame(source_ids, target_ids):
        decoder_inputs = tf.concat([[start], target_ids], axis=0)  # (T + 1,)
        labels = tf.concat([target_ids, [end]], axis=0)  # (T + 1,)
        return {"encoder_token_ids": source_ids, "decoder_token_ids": decoder_inputs}, labels

    pairs = _as_dataset(pairs, pairs_dataset)
    if shuffle_buffer_size:
        pairs = pairs.shuffle(shuffle_buffer_size, seed=seed, reshuffle_each_iteration=True)
    examples = _tokenize_unbatched(pairs, tokenize)
    examples = examples.filter(fits) if overflow == "drop" else examples.map(truncate)
    examples = examples.map(frame, num_parallel_calls=tf.data.AUTOTUNE)

    if bucket_boundaries:
        batches = examples.bucket_by_sequence_length(
            lambda inputs, labels: tf.maximum(
                tf.size(inputs["encoder_token_ids"]), tf.size(labels)
            ),
            bucket_boundaries=list(bucket_boundaries),
            bucket_batch_sizes=[batch_size] * (len(bucket_boundaries) + 1),
            drop_remainder=drop_remainder,
        )
    else:
        batches = examples.padded_batch(batch_size, drop_remainder=drop_remainder)
    if pad_to_bucket:
        batches = batches.map(_padder_to_bounds([*(bucket_boundaries or []), max_length]))
    return batches.map(
        lambda inputs, labels: (inputs, {"logits": labels}), num_parallel_calls=tf.data.AUTOTUNE
    ).prefetch(tf.data.AUTOTUNE)


def _padder_to_bounds(lengths, multiple=8):
    """A map function padding a translation batch's three tensors to the
    first bound (`lengths` rounded up to `multiple`) that holds the longest."""
    bounds = tf.constant(sorted({-(-length // multiple) * multiple for length in lengths}), tf.int32)

    def pad(inputs, labels):  # (B, S), (B, T), (B, T)
        longest = tf.maximum(tf.shape(inputs["encoder_token_ids"])[1], tf.shape(labels)[1])
        bound = bounds[tf.searchsorted(bounds, longest[None])[0]]

        def to_bound(ids):
            return tf.pad(ids, [[0, 0], [0, bound - tf.shape(ids)[1]]])

        return {name: to_bound(ids) for name, ids in inputs.items()}, to_bound(labels)

    return pad


def classification_dataset(
    data,
    tokenizer,
    batch_size=32,
    max_sequence_length=128,
    shuffle_buffer_size=None,
    seed=None,
    drop_remainder=False,
):
    """Builds `BertClassifier` batches from labelled sentences or pairs.

    Each example is packed as `[CLS] A [SEP]` or `[CLS] A [SEP] B [SEP]`
    with segment ids 0 for A and 1 for B; pairs that are too long lose
    tokens from the longer segment first (round-robin trimming).

    Args:
        data: `ClassificationData` or `RegressionData` (a regression score
            per example, as STS-B has), or a `tf.data.Dataset` of `(texts,
            label)` as `labelled_text_dataset` makes.
        tokenizer: a `WordPieceTokenizer` with `[CLS]` and `[SEP]`.
        batch_size: global batch size.
        max_sequence_length: packed length, special tokens included.
        shuffle_buffer_size: examples shuffled together (None: no shuffle).
        seed: shuffle seed.
        drop_remainder: drop the last short batch.

    Returns:
        A dataset of `({"token_ids", "segment_ids", "padding_mask"},
        {"logits": label})`, int32 (float32 scores), padded to the longest in
        the batch.
    """
    data = _as_dataset(data, labelled_text_dataset)
    if shuffle_buffer_size:
        data = data.shuffle(shuffle_buffer_size, seed=seed, reshuffle_each_iteration=True)

    def pack(texts, labels):
        segments = [tokenizer.tokenize(text) for text in texts]  # each (B, None)
        features = pack_segments(segments, tokenizer, max_sequence_length)
        # Class indices become int32; regression scores stay float32.
        label_type = tf.float32 if labels.dtype.is_floating else tf.int32
        return features, {"logits": tf.cast(labels, label_type)}

    return (
        data.batch(batch_size, drop_remainder=drop_remainder)
        .map(pack, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def token_stream(documents, tokenizer, end_id):
    """Documents as one int32 NumPy stream of token ids, `end_id` after each.

    A document's sentences are joined with spaces before tokenizing.

    Example:
    >>> import tempfile
    >>> from tf_models.data.tokenizers import train_character_tokenizer
    >>> tokenizer = train_character_tokenizer(["ab"], tempfile.mkdtemp() + "/c.json")
    >>> token_stream([["a", "b"], ["b"]], tokenizer, tokenizer.end_id).tolist()
    [3, 1, 4, 2, 4, 2]
    """
    texts = [" ".join(document) for document in documents]
    pieces = []
    for start in range(0, len(texts), _TOKENIZE_BATCH):
        for ids in tokenizer.tokenize(tf.constant(texts[start : start + _TOKENIZE_BATCH])).to_list():
            pieces.append(np.asarray(ids + [end_id], np.int32))
    return np.concatenate(pieces) if pieces else np.zeros([0], np.int32)


def language_model_dataset(stream, sequence_length, batch_size=32, shuffle=True, seed=None, drop_remainder=True):
    """`CausalLM` batches from a token stream: windows and their next tokens.

    The stream is cut into windows of `sequence_length + 1` tokens; a window
    is the inputs (all but its last token) and the labels (all but its
    first). Training takes full windows only (shuffled, full batches, one
    shape for XLA); evaluation (`drop_remainder=False`) pads the last window
    with 0, which the loss ignores, so every token of the stream is scored
    once.

    Args:
        stream: 1-D int32 token ids (`token_stream`).
        sequence_length: tokens the model reads per window.
        batch_size: global batch size.
        shuffle: shuffle the windows (each epoch anew).
        seed: shuffle seed.
        drop_remainder: drop a partial last window and batch.

    Returns:
        A dataset of `({"token_ids", "padding_mask"}, {"logits": labels})`,
        `(batch, sequence_length)` int32.
    """
    stream = np.asarray(stream, np.int32)
    # Window i starts where window i - 1's labels end, so every token after
    # the first is a label exactly once.
    if drop_remainder:
        count = (len(stream) - 1) // sequence_length
    else:
        count = -(-(len(stream) - 1) // sequence_length)
        stream = np.pad(stream, [(0, max(count * sequence_length + 1 - len(stream), 0))])
    if count < 1:
        raise ValueError(f"{len(stream)} tokens make no window of {sequence_length + 1}.")
    starts = np.arange(count)[:, None] * sequence_length
    windows = stream[starts + np.arange(sequence_length + 1)[None, :]]  # (count, L + 1)
    data = tf.data.Dataset.from_tensor_slices(windows)
    if shuffle:
        data = data.shuffle(len(windows), seed=seed, reshuffle_each_iteration=True)

    def split(windows):  # (B, L + 1)
        inputs = windows[:, :-1]
        return {"token_ids": inputs, "padding_mask": tf.cast(inputs != 0, tf.int32)}, {"logits": windows[:, 1:]}

    return data.batch(batch_size, drop_remainder=drop_remainder).map(split).prefetch(tf.data.AUTOTUNE)


def pack_segments(segments, tokenizer, max_sequence_length):
    """Packs one or two tokenized segments the way BERT reads them.

    `[CLS] A [SEP]` or `[CLS] A [SEP] B [SEP]`, with segment ids 0 for A
    and 1 for B; inputs that are too long lose tokens from the longer
    segment first (round-robin trimming).

    Args:
        segments: a list of one or two ragged `(batch, None)` token ids.
        tokenizer: the tokenizer with `[CLS]` and `[SEP]`.
        max_sequence_length: packed length, special tokens included.

    Returns:
        A dict of `(batch, length)` int32 `token_ids`, `segment_ids` and
        `padding_mask`, padded to the longest in the batch.

    Example:
    >>> import tempfile
    >>> from tf_models.data import WordPieceTokenizer
    >>> path = tempfile.mkdtemp() + "/vocab.txt"
    >>> _ = open(path, "w").write("[PAD]\\n[UNK]\\n[CLS]\\n[SEP]\\n[MASK]\\na\\nb\\n")
    >>> tokenizer = WordPieceTokenizer(path)
    >>> features = pack_segments([tokenizer.tokenize(["a a a"]), tokenizer.tokenize(["b"])], tokenizer, 5)
    >>> features["token_ids"].numpy().tolist(), features["segment_ids"].numpy().tolist()
    ([[2, 5, 3, 6, 3]], [[0, 0, 0, 1, 1]])
    """
    segments = [tf.cast(s, tf.int32) for s in segments]
    trimmed = trim_round_robin(segments, max_sequence_length - len(segments) - 1)
    token_ids, segment_ids = tf_text.combine_segments(trimmed, tokenizer.cls_id, tokenizer.sep_id)
    return _pad_features(token_ids, segment_ids)


def trim_round_robin(segments, budget):
    """Trims one or two ragged segments to `budget` tokens in all.

    Tokens are granted to the segments in turn, one at a time, so the
    longer segment loses tokens first: what tensorflow-text's
    `RoundRobinTrimmer` computes, in core TensorFlow ops only (newer TF
    Text versions implement it as a custom op that TF Serving builds with
    older TF Text cannot load).

    Args:
        segments: a list of one or two ragged `(batch, None)` tensors.
        budget: tokens kept per example, all segments together.

    Returns:
        The trimmed segments.
    """
    if len(segments) == 1:
        return [segments[0][:, :budget]]
    if len(segments) != 2:
        raise ValueError(f"BERT packs one or two segments, got {len(segments)}.")
    first, second = segments
    first_length = tf.cast(first.row_lengths(), tf.int32)
    second_length = tf.cast(second.row_lengths(), tf.int32)
    # The first segment gets half the budget (rounded up), or more if the
    # second needs less; the second gets what is left.
    keep_first = tf.minimum(first_length, tf.maximum((budget + 1) // 2, budget - second_length))
    keep_second = tf.minimum(second_length, budget - keep_first)
    return [_keep_first_tokens(first, keep_first), _keep_first_tokens(second, keep_second)]


def _keep_first_tokens(ragged, counts):
    """Keeps the first `counts[i]` tokens of row `i`."""
    keep = tf.ragged.range(tf.cast(ragged.row_lengths(), tf.int32)) < counts[:, None]
    return tf.ragged.boolean_mask(ragged, keep)


def _pad_features(token_ids, segment_ids, length=None):
    """Ragged `(B, None)` ids -> the backbone's dense, padded inputs."""
    # The longest row (the maximum of an empty batch is negative: clip it).
    length = length or tf.maximum(tf.cast(tf.reduce_max(token_ids.row_lengths()), tf.int32), 0)
    token_ids, padding_mask = tf_text.pad_model_inputs(token_ids, length)
    segment_ids, _ = tf_text.pad_model_inputs(segment_ids, length)
    return {
        "token_ids": tf.cast(token_ids, tf.int32),
        "segment_ids": tf.cast(segment_ids, tf.int32),
        "padding_mask": tf.cast(padding_mask, tf.int32),
    }


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
    documents = _tokenize_documents(_as_dataset(documents, documents_dataset), tokenizer)
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
        )).batch(batch_size, drop_remainder=drop_remainder)
        # Each batch masks with its own seed: parallel and still deterministic.
        batch_seeds = tf.data.Dataset.range(tf.int64.max).map(
            lambda index: tf.random.experimental.stateless_fold_in(epoch_seed, index))
        return tf.data.Dataset.zip(pairs, batch_seeds)

    mask = _masker(tokenizer, max_predictions_per_sequence, masking_rate, mask_token_rate, random_token_rate,
                   whole_word_masking)

    def pack_and_mask(pair, batch_seed):
        first, second, nsp_labels = pair  # ragged (B, None) x 2, (B,)
        token_ids, segment_ids = tf_text.combine_segments([first, second], tokenizer.cls_id, tokenizer.sep_id)
        features, mlm_targets, mlm_weights = mask(_pad_features(token_ids, segment_ids, max_sequence_length),
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
    documents = _tokenize_documents(_as_dataset(documents, documents_dataset), tokenizer)
    if not documents:
        raise ValueError("masked-LM pretraining needs at least one non-empty document.")
    row_length = max_sequence_length - 2  # room for [CLS] row [SEP]
    rng = np.random.default_rng(seed)  # for the dataset's whole life, as in bert_pretraining_dataset

    def epoch():  # a single element: the whole epoch's rows, flat
        order = rng.permutation(len(documents))
        stream = np.concatenate([piece for i in order for piece in (documents[i][0], [tokenizer.sep_id])][:-1])
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
        yield stream[: lengths.sum()].astype(np.int32), lengths.astype(np.int32), rng.integers(0, 2**31 - 1, 2)

    vector = tf.TensorSpec([None], tf.int32)
    flat_epoch = tf.data.Dataset.from_generator(epoch, output_signature=(vector, vector, tf.TensorSpec([2], tf.int64)))

    def batches_of(tokens, lengths, epoch_seed):
        rows = tf.data.Dataset.from_tensor_slices(tf.RaggedTensor.from_row_lengths(tokens, lengths))
        batch_seeds = tf.data.Dataset.range(tf.int64.max).map(
            lambda index: tf.random.experimental.stateless_fold_in(epoch_seed, index))
        return tf.data.Dataset.zip(rows.batch(batch_size, drop_remainder=drop_remainder), batch_seeds)

    mask = _masker(tokenizer, max_predictions_per_sequence, masking_rate, mask_token_rate, random_token_rate,
                   whole_word_masking)

    def pack_and_mask(rows, batch_seed):  # ragged (B, None)
        token_ids, segment_ids = tf_text.combine_segments([rows], tokenizer.cls_id, tokenizer.sep_id)
        features, mlm_targets, mlm_weights = mask(_pad_features(token_ids, segment_ids, max_sequence_length),
                                                  batch_seed)
        return features, {"mlm_logits": mlm_targets}, {"mlm_logits": mlm_weights}

    return (
        flat_epoch.flat_map(batches_of)
        .map(pack_and_mask, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def _masker(tokenizer, max_predictions, masking_rate, mask_token_rate, random_token_rate, whole_word_masking):
    """The masking step both pretraining pipelines share: a function of
    `(features, batch_seed)` that chooses the masked-LM positions and
    replaces their tokens (BERT's 80/10/10); it returns the features with
    `mask_positions` added, the original ids there and their float32 weights."""
    is_continuation = tf.constant([t.startswith("##") for t in tokenizer.vocabulary]) if whole_word_masking else None
    special_ids = tf.constant([tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id], tf.int32)

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

