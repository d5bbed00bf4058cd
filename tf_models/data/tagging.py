"""Token tagging: words with a tag each -> `BertTagger` inputs, and back.

Each word is tagged through its first WordPiece, as in the BERT paper
(section 5.3); the other pieces, `[CLS]`, `[SEP]` and padding get the label
`IGNORED_LABEL` (-1), which the loss skips (`compile_bert_token_classifier`
uses a cross-entropy with `padding_id=-1`).

* `tagging_features` packs sentences given as words; it is TensorFlow ops
  on a batch of raw strings, so a serving signature can call it in the graph.
* `tagging_dataset` makes training and evaluation batches of `TaggingData`.
* `word_predictions` maps per-piece predictions back to one tag per word.
"""

import numpy as np
import tensorflow as tf

from tf_models.data.tokenizers import row_ids

IGNORED_LABEL = -1  # the label of positions that the tagging loss skips


def tagging_features(words, tokenizer, max_sequence_length=128):
    """Packs sentences given as words as `[CLS] pieces [SEP]`.

    Each word is tokenized on its own (so a word's pieces never merge with
    the next word's); a word that yields no piece (only control characters,
    say) becomes `[UNK]`, so that every word keeps a position. Sentences
    longer than `max_sequence_length - 2` pieces lose their last pieces.

    Args:
        words: ragged `(batch, None)` strings, one row of words per sentence.
        tokenizer: a `WordPieceTokenizer` with `[CLS]`, `[SEP]`, `[UNK]`.
        max_sequence_length: packed length, special tokens included.

    Returns:
        A dict of `(batch, length)` int32 tensors, padded to the longest
        row: `token_ids`, `segment_ids` (all 0), `padding_mask`, and
        `word_ids`, the index of the word whose first piece is at that
        position, `IGNORED_LABEL` (-1) everywhere else.

    Example:
    >>> import tempfile
    >>> from tf_models.data import WordPieceTokenizer
    >>> path = tempfile.mkdtemp() + "/vocab.txt"
    >>> _ = open(path, "w").write("[PAD]\\n[UNK]\\n[CLS]\\n[SEP]\\neu\\nre\\n##ject\\n##s\\n")
    >>> features = tagging_features(tf.ragged.constant([["EU", "rejects"]]),
    ...                             WordPieceTokenizer(path))
    >>> features["token_ids"].numpy().tolist(), features["word_ids"].numpy().tolist()
    ([[2, 4, 5, 6, 7, 3]], [[-1, 0, 1, -1, -1, -1]])
    """
    if max_sequence_length < 3:
        raise ValueError(f"max_sequence_length must be at least 3, got {max_sequence_length}.")
    piece_ids, word_ids, splits = _word_pieces(words, tokenizer)

    # Dense (B, length) arithmetic from here on (ragged ops would make a
    # graph several times the size): [CLS], the pieces that fit, [SEP].
    piece_splits = tf.gather(splits, tf.cast(words.row_splits, tf.int32))  # (B + 1,)
    count = tf.minimum(piece_splits[1:] - piece_splits[:-1], max_sequence_length - 2)[:, None]
    length = tf.reduce_max(tf.concat([count[:, 0] + 2, [0]], 0))  # the longest row
    position = tf.range(length)[None, :]  # (1, T)
    is_piece = (position >= 1) & (position <= count)
    # Index of the piece at each position, or of a dummy appended at the end.
    index = tf.where(is_piece, piece_splits[:-1, None] + position - 1, splits[-1])

    def at_pieces(values, default):  # (pieces,) -> (B, T), `default` elsewhere
        return tf.gather(tf.concat([values, [default]], 0), index)

    token_ids = tf.where(position == 0, tokenizer.cls_id, at_pieces(piece_ids, 0))
    token_ids = tf.where(position == count + 1, tokenizer.sep_id, token_ids)
    return {
        "token_ids": token_ids,
        "segment_ids": tf.zeros_like(token_ids),
        "padding_mask": tf.cast(position <= count + 1, tf.int32),
        "word_ids": at_pieces(word_ids, IGNORED_LABEL),
    }


def _word_pieces(words, tokenizer):
    """The pieces of all words of a batch, end to end; a word that yields no
    piece gets one `[UNK]`, so that every word keeps a position.

    Args:
        words: ragged `(batch, None)` strings, one row of words per sentence.
        tokenizer: a `WordPieceTokenizer` with `[UNK]`.

    Returns:
        `(piece_ids, word_ids, splits)`: `(pieces,)` int32 ids; `(pieces,)`
        int32, at a word's first piece the word's index in its sentence and
        `IGNORED_LABEL` at its other pieces; `(words + 1,)` int32, where each
        word's pieces start.
    """
    pieces = tokenizer.tokenize(words.flat_values)  # (words, P)
    # Lay out max(pieces, 1) per word.
    old_splits = tf.cast(pieces.row_splits, tf.int32)
    old_length = old_splits[1:] - old_splits[:-1]  # (words,)
    splits = tf.concat([[0], tf.cumsum(tf.maximum(old_length, 1))], 0)
    word = row_ids(splits)  # (pieces,) the word of each piece
    in_word = tf.range(splits[-1]) - tf.gather(splits, word)  # 0 for a first piece
    source = tf.where(  # index into the old pieces, or the [UNK] appended to them
        tf.gather(old_length, word) > 0, tf.gather(old_splits, word) + in_word, old_splits[-1]
    )
    piece_ids = tf.gather(
        tf.concat([tf.cast(pieces.flat_values, tf.int32), [tokenizer.unk_id]], 0), source
    )
    sentence_splits = tf.cast(words.row_splits, tf.int32)
    word_in_sentence = word - tf.gather(sentence_splits, tf.gather(row_ids(sentence_splits), word))
    return piece_ids, tf.where(in_word == 0, word_in_sentence, IGNORED_LABEL), splits


def tagging_dataset(
    data,
    tokenizer,
    batch_size=32,
    max_sequence_length=128,
    shuffle_buffer_size=None,
    seed=None,
    drop_remainder=False,
):
    """Builds `BertTagger` batches from tagged sentences.

    Args:
        data: `TaggingData` (from `load_conll`), or any object with
            `sentences` (lists of words) and `tags` (lists of tag indices).
        tokenizer: a `WordPieceTokenizer` with `[CLS]`, `[SEP]`, `[UNK]`.
        batch_size: global batch size.
        max_sequence_length: packed length, special tokens included.
        shuffle_buffer_size: sentences shuffled together (None: no shuffle).
        seed: shuffle seed.
        drop_remainder: drop the last short batch.

    Returns:
        A dataset of `({"token_ids", "segment_ids", "padding_mask"},
        {"logits": labels})`, int32 `(batch, length)`, padded to the longest
        in the batch. A word's tag labels its first piece; every other
        position is labelled `IGNORED_LABEL` (-1).

    Example:
    >>> import tempfile
    >>> from tf_models.data import WordPieceTokenizer
    >>> from tf_models.data.records import TaggingData
    >>> path = tempfile.mkdtemp() + "/vocab.txt"
    >>> _ = open(path, "w").write("[PAD]\\n[UNK]\\n[CLS]\\n[SEP]\\neu\\nre\\n##jects\\n")
    >>> data = TaggingData([["EU", "rejects"]], [[1, 0]], ("O", "B-ORG"))
    >>> _, labels = next(iter(tagging_dataset(data, WordPieceTokenizer(path))))
    >>> labels["logits"].numpy().tolist()
    [[-1, 1, 0, -1, -1]]
    """
    if len(data.sentences) != len(data.tags) or any(
        len(words) != len(tags) for words, tags in zip(data.sentences, data.tags)
    ):
        raise ValueError("Every sentence needs exactly one tag per word.")
    words = tf.ragged.constant(data.sentences, dtype=tf.string, ragged_rank=1)
    tags = tf.ragged.constant(data.tags, dtype=tf.int32, ragged_rank=1)
    dataset = tf.data.Dataset.from_tensor_slices((words, tags))
    if shuffle_buffer_size:
        dataset = dataset.shuffle(shuffle_buffer_size, seed=seed, reshuffle_each_iteration=True)

    def featurize(words, tags):  # ragged (B, W) strings and ints
        features = tagging_features(words, tokenizer, max_sequence_length)
        word_ids = features.pop("word_ids")
        word_tags = tf.gather(tags.to_tensor(), tf.maximum(word_ids, 0), batch_dims=1)
        labels = tf.where(word_ids >= 0, word_tags, IGNORED_LABEL)
        return features, {"logits": labels}

    return (
        dataset.ragged_batch(batch_size, drop_remainder=drop_remainder)
        .map(featurize, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def word_predictions(predicted_ids, labels, num_words=None, fill=0):
    """Per-piece predictions back to one tag per word.

    Args:
        predicted_ids: `(batch, length)` predicted tag ids (the arg-max of
            the logits).
        labels: the batch's labels (or `word_ids`): the first piece of each
            word is where they are not negative.
        num_words: optional number of words of each sentence; words lost to
            truncation then get the tag `fill`.
        fill: the tag of truncated words (the index of `"O"`, say).

    Returns:
        A list with one list of int tag ids per sentence.

    Example:
    >>> word_predictions([[0, 3, 2, 2, 0]], [[-1, 1, 0, -1, -1]], num_words=[3])
    [[3, 2, 0]]
    """
    predicted_ids, labels = np.asarray(predicted_ids), np.asarray(labels)
    words = [row[mask].tolist() for row, mask in zip(predicted_ids, labels >= 0)]
    if num_words is not None:
        words = [tags + [fill] * (int(n) - len(tags)) for tags, n in zip(words, num_words)]
    return words
