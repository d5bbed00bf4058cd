"""Inputs and outputs of BERT's fine-tuning tasks beyond classification.

* **Token tagging** (`tagging_features`, `tagging_dataset`): each word is
  tagged through its first WordPiece, as in the BERT paper (section 5.3);
  the other pieces, `[CLS]`, `[SEP]` and padding get the label
  `IGNORED_LABEL` (-1), which the loss skips (`compile_bert_token_classifier`
  uses a cross-entropy with `padding_id=-1`). `word_predictions` maps
  per-piece predictions back to words.
* **Extractive question answering** (`squad_features`, `squad_dataset`,
  `squad_predictions`): google-research/bert's `run_squad.py` for SQuAD
  v1.1. The question is cut to `max_query_length` pieces; a long context is
  covered by windows `doc_stride` pieces apart, each packed as
  `[CLS] question [SEP] window [SEP]`; the answer's first and last pieces
  are the labels, or `[CLS]` (index 0) in windows that do not hold the
  whole answer. Instead of whitespace words and `get_final_text`'s
  re-alignment, every context piece carries byte offsets into the original
  context (`WordPieceTokenizer.tokenize_with_offsets`), so a predicted span
  is a slice of the context exactly as written.

The featurizers are TensorFlow ops on a batch of raw strings, so a serving
signature can call them in the graph; `squad_best_spans` is the in-graph
half of the post-processing.
"""

import numpy as np
import tensorflow as tf

from tf_models.data.tokenizers import _row_ids

IGNORED_LABEL = -1  # the label of positions that the tagging loss skips

# Featurize this many examples at a time (then unbatch the features).
_FEATURIZE_BATCH = 64


# ------------------------------------------------------------------ tagging


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
    pieces = tokenizer.tokenize(words.flat_values)  # (words, P)
    # A word without pieces gets one [UNK]: lay out max(pieces, 1) per word.
    old_splits = tf.cast(pieces.row_splits, tf.int32)
    old_length = old_splits[1:] - old_splits[:-1]  # (words,)
    splits = tf.concat([[0], tf.cumsum(tf.maximum(old_length, 1))], 0)
    word = _row_ids(splits)  # (pieces,) the word of each piece
    in_word = tf.range(splits[-1]) - tf.gather(splits, word)  # 0 for a first piece
    source = tf.where(  # index into the old pieces, or the [UNK] appended to them
        tf.gather(old_length, word) > 0, tf.gather(old_splits, word) + in_word, old_splits[-1]
    )
    piece_ids = tf.gather(
        tf.concat([tf.cast(pieces.flat_values, tf.int32), [tokenizer.unk_id]], 0), source
    )
    sentence_splits = tf.cast(words.row_splits, tf.int32)
    word_in_sentence = word - tf.gather(sentence_splits, tf.gather(_row_ids(sentence_splits), word))
    word_ids = tf.where(in_word == 0, word_in_sentence, IGNORED_LABEL)

    # Dense (B, length) arithmetic from here on (ragged ops would make a
    # graph several times the size): [CLS], the pieces that fit, [SEP].
    piece_splits = tf.gather(splits, sentence_splits)  # (B + 1,)
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


def tagging_dataset(
    data,
    tokenizer,
    batch_size=32,
    max_sequence_length=128,
    shuffle_buffer_size=None,
    seed=None,
    drop_remainder=False,
):
    """Builds `BertTokenClassifier` batches from tagged sentences.

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


# ------------------------------------------------------ question answering


def squad_features(
    questions,
    contexts,
    tokenizer,
    max_sequence_length=384,
    max_query_length=64,
    doc_stride=128,
    answer_begin=None,
    answer_end=None,
):
    """Questions and contexts -> `BertSpanLabeler` inputs, one per window.

    As `run_squad.py`'s `convert_examples_to_features`: the question is cut
    to `max_query_length` pieces; the context pieces are covered by windows
    of up to `max_sequence_length - question - 3` pieces that start
    `min(doc_stride, window size)` pieces apart, until one reaches the end
    (one window, possibly empty, at least); each window is packed as
    `[CLS] question [SEP] window [SEP]` with segment ids 0, then 1 from the
    window on. A context piece seen by several windows has its "max
    context" in the one where `min(pieces to its left, pieces to its right)
    + 0.01 * window length` is largest (the first such window on ties);
    predictions only start at such positions.

    Args:
        questions: `(batch,)` strings.
        contexts: `(batch,)` strings.
        tokenizer: a `WordPieceTokenizer` with `[CLS]` and `[SEP]`.
        max_sequence_length: packed length (384 in BERT's SQuAD runs).
        max_query_length: most question pieces (64).
        doc_stride: distance between window starts, in pieces (128).
        answer_begin: optional `(batch,)` byte offsets of each answer's start
            in its context (UTF-8), for training labels.
        answer_end: the answers' end byte offsets (exclusive).

    Returns:
        A dict with one row per window (feature), `F` in all:

        * `token_ids`, `segment_ids`, `padding_mask`: `(F, max_sequence_length)`
          int32, the model's inputs, padded with 0;
        * `example_index`: `(F,)` int32, the batch row the window belongs to
          (windows come in example order, then window order);
        * `token_begin`, `token_end`: `(F, max_sequence_length)` int32, for
          each context piece the byte offsets of its text in
          `contexts[example_index]` (see `tokenize_with_offsets`); -1 at
          `[CLS]`, the question, `[SEP]` and padding;
        * `token_is_max_context`: `(F, max_sequence_length)` bool, true at
          context pieces whose max context is this window;
        * with answers, `start_positions` and `end_positions`: `(F,)` int32,
          the positions of the answer's first and last pieces in the
          window, 0 (`[CLS]`) when the window does not hold them both. The
          pieces are those that overlap the answer's bytes.

    Example:
    >>> import tempfile
    >>> from tf_models.data import WordPieceTokenizer
    >>> path = tempfile.mkdtemp() + "/vocab.txt"
    >>> vocabulary = "[PAD] [UNK] [CLS] [SEP] who sang ? the beatles .".split()
    >>> _ = open(path, "w").write("\\n".join(vocabulary) + "\\n")
    >>> features = squad_features(["Who sang?"], ["The Beatles sang."],
    ...                           WordPieceTokenizer(path), max_sequence_length=12,
    ...                           max_query_length=8, answer_begin=[0], answer_end=[11])
    >>> features["token_ids"].numpy().tolist()
    [[2, 4, 5, 6, 3, 7, 8, 5, 9, 3, 0, 0]]
    >>> features["token_begin"].numpy().tolist()
    [[-1, -1, -1, -1, -1, 0, 4, 12, 16, -1, -1, -1]]
    >>> int(features["start_positions"][0]), int(features["end_positions"][0])
    (5, 6)
    """
    if max_query_length + 4 > max_sequence_length:
        raise ValueError(
            f"max_sequence_length ({max_sequence_length}) must exceed max_query_length "
            f"({max_query_length}) + 3, to leave room for the context."
        )
    if doc_stride < 1:
        raise ValueError(f"doc_stride must be positive, got {doc_stride}.")
    questions = tf.convert_to_tensor(questions, tf.string)
    contexts = tf.convert_to_tensor(contexts, tf.string)
    question_ids = tokenizer.tokenize(questions)[:, :max_query_length]  # (B, Q)
    context_ids, context_begin, context_end = tokenizer.tokenize_with_offsets(contexts)  # (B, N)
    question_length = tf.cast(question_ids.row_lengths(), tf.int32)
    context_length = tf.cast(context_ids.row_lengths(), tf.int32)
    context_start = tf.cast(context_ids.row_splits[:-1], tf.int32)
    num_pieces = tf.shape(context_ids.flat_values)[0]
    # Dense (F, length) arithmetic from here on: ragged ops would make a
    # graph ten times the size, slow to trace in every tf.data pipeline.

    # === Windows ===
    window_size = max_sequence_length - question_length - 3  # (B,)
    step = tf.minimum(window_size, doc_stride)
    extra = tf.maximum(context_length - window_size, 0)
    windows = tf.ragged.range(1 + (extra + step - 1) // step)  # (B, W)
    example_index = tf.cast(_row_ids(windows.row_splits), tf.int32)  # (F,)
    window_start = windows.flat_values * tf.gather(step, example_index)  # (F,) in pieces
    window_length = tf.minimum(
        tf.gather(window_size, example_index),
        tf.gather(context_length, example_index) - window_start,
    )

    # === Packing: [CLS] question [SEP] window [SEP] ===
    query_length = tf.gather(question_length, example_index)[:, None]  # (F, 1)
    window_first = query_length + 2  # position of the window's first piece
    window_end = window_first + window_length[:, None]  # position of the last [SEP]
    position = tf.range(max_sequence_length)[None, :]  # (1, L)
    in_window = (position >= window_first) & (position < window_end)  # (F, L)
    # Index of the context piece at each position among the batch's pieces;
    # `num_pieces` (a dummy appended below) outside the window.
    window_base = tf.gather(context_start, example_index) + window_start  # (F,)
    piece = tf.where(in_window, window_base[:, None] + position - window_first, num_pieces)

    def at_pieces(values, default):  # (pieces,) -> (F, L), `default` outside the window
        return tf.gather(tf.concat([tf.cast(values, tf.int32), [default]], 0), piece)

    question = tf.gather(question_ids.to_tensor(shape=[None, max_query_length]), example_index)
    question_piece = tf.clip_by_value(position[0] - 1, 0, max_query_length - 1)  # (L,)
    question = tf.gather(question, question_piece, axis=1)  # (F, L)
    token_ids = tf.where(position <= query_length, question, at_pieces(context_ids.flat_values, 0))
    token_ids = tf.where(position == 0, tokenizer.cls_id, token_ids)
    is_sep = (position == query_length + 1) | (position == window_end)
    token_ids = tf.where(is_sep, tokenizer.sep_id, token_ids)
    features = {
        "token_ids": token_ids,
        "segment_ids": tf.cast((position >= window_first) & (position <= window_end), tf.int32),
        "padding_mask": tf.cast(position <= window_end, tf.int32),
        "example_index": example_index,
        "token_begin": at_pieces(context_begin.flat_values, -1),
        "token_end": at_pieces(context_end.flat_values, -1),
    }

    # === Max context (run_squad.py's _check_is_max_context) ===
    in_window_position = position - window_first
    score = tf.cast(
        tf.minimum(in_window_position, window_length[:, None] - 1 - in_window_position), tf.float64
    ) + 0.01 * tf.cast(window_length, tf.float64)[:, None]  # (F, L)
    best = tf.math.unsorted_segment_max(score, piece, num_pieces + 1)
    feature = tf.range(tf.shape(piece)[0])[:, None] + tf.zeros_like(piece)  # (F, L)
    tied = tf.gather(best, piece) == score
    first_best = tf.math.unsorted_segment_min(
        tf.where(tied, feature, tf.int32.max), piece, num_pieces + 1
    )  # the first window with the best score, for each piece
    features["token_is_max_context"] = in_window & (tf.gather(first_best, piece) == feature)

    # === Labels ===
    if answer_begin is not None:
        # The pieces that overlap [answer_begin, answer_end): offsets grow
        # along the context, so counting finds the first and the last.
        piece_row = _row_ids(context_ids.row_splits)
        answer_begin = tf.gather(tf.cast(answer_begin, tf.int64), piece_row)
        answer_end = tf.gather(tf.cast(answer_end, tf.int64), piece_row)

        def count(condition):  # (pieces,) bool -> (B,) number true per context
            return tf.math.unsorted_segment_sum(
                tf.cast(condition, tf.int32), piece_row, tf.shape(contexts)[0]
            )

        first_piece = count(context_end.flat_values <= answer_begin)
        last_piece = count(context_begin.flat_values < answer_end) - 1
        first_piece = tf.gather(first_piece, example_index) - window_start  # in the window
        last_piece = tf.gather(last_piece, example_index) - window_start
        inside = (first_piece >= 0) & (last_piece < window_length) & (first_piece <= last_piece)
        offset = window_first[:, 0]
        features["start_positions"] = tf.where(inside, first_piece + offset, 0)
        features["end_positions"] = tf.where(inside, last_piece + offset, 0)
    return features


SQUAD_INPUTS = ("token_ids", "segment_ids", "padding_mask")
SQUAD_METADATA = ("example_index", "token_begin", "token_end", "token_is_max_context")


def answer_byte_span(context, text, answer_start):
    """A SQuAD answer's character offset -> `(begin, end)` UTF-8 byte offsets.

    Example:
    >>> answer_byte_span("Café au lait", "au", 5)
    (6, 8)
    """
    begin = len(context[:answer_start].encode("utf-8"))
    return begin, begin + len(text.encode("utf-8"))


def squad_dataset(
    examples,
    tokenizer,
    batch_size=32,
    max_sequence_length=384,
    max_query_length=64,
    doc_stride=128,
    training=True,
    shuffle_buffer_size=None,
    seed=None,
    drop_remainder=False,
):
    """Builds `BertSpanLabeler` batches of SQuAD windows (see `squad_features`).

    Args:
        examples: a list of `SquadExample` (from `load_squad`). Training uses
            each example's first answer (SQuAD's training set has one).
        tokenizer: a `WordPieceTokenizer` with `[CLS]` and `[SEP]`.
        batch_size: windows per batch (global batch size).
        max_sequence_length: packed length (384).
        max_query_length: most question pieces (64).
        doc_stride: distance between window starts, in pieces (128).
        training: with labels, for `fit`; else with the metadata that
            `squad_predictions` needs.
        shuffle_buffer_size: windows shuffled together (None: no shuffle).
            Never shuffle for prediction.
        seed: shuffle seed.
        drop_remainder: drop the last short batch.

    Returns:
        A dataset of `(inputs, targets)`; `inputs` holds `token_ids`,
        `segment_ids`, `padding_mask`, `(batch, max_sequence_length)` int32.
        For training `targets` is `{"start_logits": start_positions,
        "end_logits": end_positions}`; otherwise it is the metadata
        `{"example_index", "token_begin", "token_end",
        "token_is_max_context"}`, with `example_index` an index into
        `examples`. `model.predict` reads only `inputs`.

    Example:
    >>> import tempfile
    >>> from tf_models.data import WordPieceTokenizer
    >>> from tf_models.data.records import SquadExample
    >>> path = tempfile.mkdtemp() + "/vocab.txt"
    >>> vocabulary = "[PAD] [UNK] [CLS] [SEP] who sang ? the beatles .".split()
    >>> _ = open(path, "w").write("\\n".join(vocabulary) + "\\n")
    >>> example = SquadExample("q1", "Music", "Who sang?", "The Beatles sang.",
    ...                        (("The Beatles", 0),))
    >>> inputs, labels = next(iter(squad_dataset(
    ...     [example], WordPieceTokenizer(path), max_sequence_length=16, max_query_length=8)))
    >>> inputs["token_ids"].shape, labels["start_logits"].numpy(), labels["end_logits"].numpy()
    (TensorShape([1, 16]), array([5], dtype=int32), array([6], dtype=int32))
    """
    columns = {
        "question": tf.constant([example.question for example in examples], tf.string),
        "context": tf.constant([example.context for example in examples], tf.string),
        "example": tf.range(len(examples), dtype=tf.int32),
    }
    if training:
        spans = [answer_byte_span(example.context, *example.answers[0]) for example in examples]
        columns["answer"] = tf.constant(spans, tf.int64, shape=[len(examples), 2])

    def featurize(batch):
        answer = batch.get("answer")
        features = squad_features(
            batch["question"],
            batch["context"],
            tokenizer,
            max_sequence_length,
            max_query_length,
            doc_stride,
            answer_begin=None if answer is None else answer[:, 0],
            answer_end=None if answer is None else answer[:, 1],
        )
        features["example_index"] = tf.gather(batch["example"], features["example_index"])
        return features

    def split(features):
        inputs = {key: features[key] for key in SQUAD_INPUTS}
        if training:
            targets = {
                "start_logits": features["start_positions"],
                "end_logits": features["end_positions"],
            }
        else:
            targets = {key: features[key] for key in SQUAD_METADATA}
        return inputs, targets

    windows = (
        tf.data.Dataset.from_tensor_slices(columns)
        .batch(_FEATURIZE_BATCH)
        .map(featurize, num_parallel_calls=tf.data.AUTOTUNE)
        .unbatch()
    )
    if shuffle_buffer_size:
        windows = windows.shuffle(shuffle_buffer_size, seed=seed, reshuffle_each_iteration=True)
    return (
        windows.batch(batch_size, drop_remainder=drop_remainder)
        .map(split, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def squad_best_spans(
    start_logits,
    end_logits,
    metadata,
    num_examples,
    n_best_size=20,
    max_answer_length=30,
):
    """The best answer span of each example over all its windows, in the graph.

    `run_squad.py`'s `write_predictions`, for SQuAD v1.1: in each window the
    `n_best_size` likeliest starts and ends are paired; a pair counts when
    both are context pieces, the start has its max context in this window,
    `start <= end` and the span has at most `max_answer_length` pieces. Its
    score is `start_logit + end_logit`; the example's answer is the
    best-scoring pair over all its windows (the earliest on ties).

    Args:
        start_logits: `(F, length)` float logits of the windows.
        end_logits: `(F, length)`.
        metadata: dict of `example_index`, `token_begin`, `token_end`,
            `token_is_max_context` as `squad_features` returns them.
        num_examples: number of examples (the windows' `example_index` values
            lie below it).
        n_best_size: starts and ends considered per window (20).
        max_answer_length: longest answer in pieces (30).

    Returns:
        A dict of `(num_examples,)` tensors: `begin` and `end`, int32 byte
        offsets of the answer in the example's context (-1 for an example
        without any valid span), and `score`, float32 (-inf without one).
    """
    start_logits = tf.cast(start_logits, tf.float32)
    end_logits = tf.cast(end_logits, tf.float32)
    token_begin = tf.cast(metadata["token_begin"], tf.int32)
    token_end = tf.cast(metadata["token_end"], tf.int32)
    is_context = token_begin >= 0
    can_start = is_context & tf.cast(metadata["token_is_max_context"], tf.bool)
    example_index = tf.cast(metadata["example_index"], tf.int32)

    k = tf.minimum(n_best_size, tf.shape(start_logits)[1])
    start_score, starts = tf.math.top_k(start_logits, k)  # (F, k), likeliest first
    end_score, ends = tf.math.top_k(end_logits, k)
    length = ends[:, None, :] - starts[:, :, None] + 1  # (F, k, k)
    valid = (
        tf.gather(can_start, starts, batch_dims=1)[:, :, None]
        & tf.gather(is_context, ends, batch_dims=1)[:, None, :]
        & (length >= 1)
        & (length <= max_answer_length)
    )
    score = tf.where(valid, start_score[:, :, None] + end_score[:, None, :], -np.inf)
    score = tf.reshape(score, [tf.shape(score)[0], -1])  # (F, k * k), start-major
    pair = tf.argmax(score, axis=1, output_type=tf.int32)  # the first of equal best
    window_score = tf.reduce_max(score, axis=1)  # (F,)
    span_begin = tf.gather(token_begin, tf.gather(starts, pair // k, batch_dims=1), batch_dims=1)
    span_end = tf.gather(token_end, tf.gather(ends, pair % k, batch_dims=1), batch_dims=1)

    best_score = tf.math.unsorted_segment_max(window_score, example_index, num_examples)
    window = tf.range(tf.shape(window_score)[0])
    is_best = (window_score == tf.gather(best_score, example_index)) & (window_score > -np.inf)
    best_window = tf.math.unsorted_segment_min(
        tf.where(is_best, window, tf.int32.max), example_index, num_examples
    )
    found = best_window < tf.int32.max
    best_window = tf.where(found, best_window, 0)
    return {
        "begin": tf.where(found, tf.gather(span_begin, best_window), -1),
        "end": tf.where(found, tf.gather(span_end, best_window), -1),
        "score": tf.where(found, best_score, -np.inf),
    }


def squad_predictions(
    examples, metadata, start_logits, end_logits, n_best_size=20, max_answer_length=30
):
    """Answer texts from a `BertSpanLabeler`'s logits on SQuAD windows.

    Args:
        examples: the list of `SquadExample` the windows were made from.
        metadata: dict of `example_index`, `token_begin`, `token_end`,
            `token_is_max_context` for all windows (the targets of
            `squad_dataset(..., training=False)`, concatenated over batches).
        start_logits: `(F, length)` logits of all windows, in the same order.
        end_logits: `(F, length)`.
        n_best_size: starts and ends considered per window (20).
        max_answer_length: longest answer in pieces (30).

    Returns:
        A dict from question id to answer text, a slice of the context as
        written (what the official evaluation script reads); `""` when no
        window had a valid span.

    Example:
    >>> from tf_models.data.records import SquadExample
    >>> example = SquadExample("q1", "", "Who?", "The Beatles sang.", (("The Beatles", 0),))
    >>> metadata = {"example_index": [0], "token_begin": [[-1, -1, -1, 0, 4, 12, -1]],
    ...             "token_end": [[-1, -1, -1, 3, 11, 16, -1]],
    ...             "token_is_max_context": [[False, False, False, True, True, True, False]]}
    >>> logits = [[0.0, 0.0, 0.0, 5.0, 1.0, 0.0, 0.0]], [[0.0, 0.0, 0.0, 0.0, 5.0, 1.0, 0.0]]
    >>> squad_predictions([example], metadata, *logits)
    {'q1': 'The Beatles'}
    """
    spans = squad_best_spans(
        start_logits, end_logits, metadata, len(examples), n_best_size, max_answer_length
    )
    predictions = {}
    for example, begin, end in zip(examples, spans["begin"].numpy(), spans["end"].numpy()):
        context = example.context.encode("utf-8")
        predictions[example.id] = context[begin:end].decode("utf-8") if begin >= 0 else ""
    return predictions
