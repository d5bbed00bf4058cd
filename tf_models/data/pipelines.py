"""tf.data pipelines that turn corpora into exactly what the models take.

This is where the plain Python records of `tf_models.data.records` become
`tf.data`: first as datasets of strings (`pairs_dataset`,
`documents_dataset`, `labelled_text_dataset`), then as model batches:

* `translation_dataset`: sentence pairs -> `Transformer` inputs and labels.
* `classification_dataset`: labelled single sentences or pairs ->
  `BertClassifier` inputs and labels.
* `language_model_dataset`: documents -> `CausalLM` windows of a token
  stream and their next tokens.

`pack_segments` and `pad_features` lay out tokenized segments the way BERT
reads them, for these pipelines, the pretraining data and the serving
signatures alike. Pretraining data (masked LM, next sentence) is in
`tf_models.data.masked_lm`; token tagging and question answering (SQuAD)
are in `tf_models.data.tagging` and `tf_models.data.question_answering`.

`batch_size` is always the global batch size: under a `tf.distribute`
strategy Keras splits each batch across the replicas, so use
`global_batch_size(per_replica_batch_size)` to keep the per-replica size.
"""

import logging

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text

from tf_models.data.records import CorpusError

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
    return data.dataset


def as_dataset(records, to_dataset):
    """`records` as a `tf.data.Dataset`: made by `to_dataset`, unless it is one.

    Every pipeline takes plain Python records or a dataset of strings that
    the caller built (and maybe filtered or mapped) already.

    Args:
        records: plain Python records, or a `tf.data.Dataset`.
        to_dataset: what makes a dataset of the records, e.g. `pairs_dataset`.

    Example:
    >>> pairs = as_dataset([("Hallo!", "Hello!")], pairs_dataset)
    >>> as_dataset(pairs, pairs_dataset) is pairs
    True
    """
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

    pairs = as_dataset(pairs, pairs_dataset)
    if shuffle_buffer_size:
        pairs = pairs.shuffle(shuffle_buffer_size, seed=seed, reshuffle_each_iteration=True)
    examples = _tokenize_unbatched(pairs, tokenize)
    examples = examples.filter(fits) if overflow == "drop" else examples.map(truncate)
    examples = examples.map(frame, num_parallel_calls=tf.data.AUTOTUNE)
    batches = _padded_batches(examples, batch_size, bucket_boundaries, drop_remainder)
    if pad_to_bucket:
        batches = batches.map(_padder_to_bounds([*(bucket_boundaries or []), max_length]))
    return batches.map(
        lambda inputs, labels: (inputs, {"logits": labels}), num_parallel_calls=tf.data.AUTOTUNE
    ).prefetch(tf.data.AUTOTUNE)


def _padded_batches(examples, batch_size, bucket_boundaries, drop_remainder):
    """Translation examples in batches padded to their longest sentence;
    with `bucket_boundaries`, each batch holds sentences of similar length."""
    if not bucket_boundaries:
        return examples.padded_batch(batch_size, drop_remainder=drop_remainder)
    return examples.bucket_by_sequence_length(
        lambda inputs, labels: tf.maximum(tf.size(inputs["encoder_token_ids"]), tf.size(labels)),
        bucket_boundaries=list(bucket_boundaries),
        bucket_batch_sizes=[batch_size] * (len(bucket_boundaries) + 1),
        drop_remainder=drop_remainder,
    )


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
    data = as_dataset(data, labelled_text_dataset)
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
    return pad_features(token_ids, segment_ids)


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


def pad_features(token_ids, segment_ids, length=None):
    """Packed ragged ids -> the backbone's dense, padded inputs.

    Args:
        token_ids: ragged `(batch, None)` token ids, packed as
            `tf_text.combine_segments` packs them.
        segment_ids: their ragged segment ids.
        length: the padded length; by default the longest row's.

    Returns:
        A dict of `(batch, length)` int32 `token_ids`, `segment_ids` and
        `padding_mask`.

    Example:
    >>> features = pad_features(tf.ragged.constant([[2, 5, 3], [2, 3]]),
    ...                         tf.ragged.constant([[0, 0, 0], [0, 0]]))
    >>> features["token_ids"].numpy().tolist(), features["padding_mask"].numpy().tolist()
    ([[2, 5, 3], [2, 3, 0]], [[1, 1, 1], [1, 1, 0]])
    """
    # The longest row (the maximum of an empty batch is negative: clip it).
    length = length or tf.maximum(tf.cast(tf.reduce_max(token_ids.row_lengths()), tf.int32), 0)
    token_ids, padding_mask = tf_text.pad_model_inputs(token_ids, length)
    segment_ids, _ = tf_text.pad_model_inputs(segment_ids, length)
    return {
        "token_ids": tf.cast(token_ids, tf.int32),
        "segment_ids": tf.cast(segment_ids, tf.int32),
        "padding_mask": tf.cast(padding_mask, tf.int32),
    }
