"""Extractive question answering (SQuAD v1.1): `BertSpanLabeler` inputs and answers.

google-research/bert's `run_squad.py`: the question is cut to
`max_query_length` pieces; a long context is covered by windows
`doc_stride` pieces apart, each packed as `[CLS] question [SEP] window
[SEP]`; the answer's first and last pieces are the labels, or `[CLS]`
(index 0) in windows that do not hold the whole answer. Instead of
whitespace words and `get_final_text`'s re-alignment, every context piece
carries byte offsets into the original context
(`WordPieceTokenizer.tokenize_with_offsets`), so a predicted span is a slice
of the context exactly as written.

* `squad_features` makes the windows; it is TensorFlow ops on a batch of raw
  strings, so a serving signature can call it in the graph.
* `squad_dataset` makes training and evaluation batches of `SquadExample`.
* `squad_best_spans` picks each example's best span in the graph;
  `squad_predictions` turns those spans into answer texts.
"""

import numpy as np
import tensorflow as tf

from tf_models.data.tokenizers import row_ids

# Featurize this many examples at a time (then unbatch the features).
_FEATURIZE_BATCH = 64


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
    _check_sizes(max_sequence_length, max_query_length, doc_stride)
    questions = tf.convert_to_tensor(questions, tf.string)
    contexts = tf.convert_to_tensor(contexts, tf.string)
    question_ids = tokenizer.tokenize(questions)[:, :max_query_length]  # (B, Q)
    context_ids, context_begin, context_end = tokenizer.tokenize_with_offsets(contexts)  # (B, N)
    question_length = tf.cast(question_ids.row_lengths(), tf.int32)
    context_length = tf.cast(context_ids.row_lengths(), tf.int32)
    example_index, window_start, window_length = _windows(
        question_length, context_length, max_sequence_length, doc_stride
    )  # (F,) each

    # Packing: [CLS] question [SEP] window [SEP], in dense (F, L) arithmetic:
    # ragged ops would make a graph ten times the size, slow to trace in
    # every tf.data pipeline.
    query_length = tf.gather(question_length, example_index)[:, None]  # (F, 1)
    window_first = query_length + 2  # position of the window's first piece
    window_end = window_first + window_length[:, None]  # position of the last [SEP]
    position = tf.range(max_sequence_length)[None, :]  # (1, L)
    in_window = (position >= window_first) & (position < window_end)  # (F, L)
    # Index of the context piece at each position among the batch's pieces;
    # `num_pieces` (a dummy appended below) outside the window.
    num_pieces = tf.shape(context_ids.flat_values)[0]
    context_start = tf.cast(context_ids.row_splits[:-1], tf.int32)
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
        "token_is_max_context": _is_max_context(
            piece, in_window, position - window_first, window_length, num_pieces
        ),
    }

    if answer_begin is not None:
        first_piece, last_piece = _answer_pieces(answer_begin, answer_end, context_begin, context_end)
        first_piece = tf.gather(first_piece, example_index) - window_start  # in the window
        last_piece = tf.gather(last_piece, example_index) - window_start
        inside = (first_piece >= 0) & (last_piece < window_length) & (first_piece <= last_piece)
        offset = window_first[:, 0]
        features["start_positions"] = tf.where(inside, first_piece + offset, 0)
        features["end_positions"] = tf.where(inside, last_piece + offset, 0)
    return features


def _check_sizes(max_sequence_length, max_query_length, doc_stride):
    """Raises `ValueError` unless a window can hold a piece of context."""
    if max_query_length + 4 > max_sequence_length:
        raise ValueError(
            f"max_sequence_length ({max_sequence_length}) must exceed max_query_length "
            f"({max_query_length}) + 3, to leave room for the context."
        )
    if doc_stride < 1:
        raise ValueError(f"doc_stride must be positive, got {doc_stride}.")


def _windows(question_length, context_length, max_sequence_length, doc_stride):
    """`run_squad.py`'s doc spans: the windows over each context of a batch.

    A window holds up to `max_sequence_length - question_length - 3` pieces
    (room for `[CLS]` and two `[SEP]`); windows start `min(doc_stride,
    window size)` pieces apart until one reaches the context's end, and
    every context gets one at least (empty for an empty context).

    Args:
        question_length: `(B,)` int32, pieces of each question.
        context_length: `(B,)` int32, pieces of each context.
        max_sequence_length: packed length.
        doc_stride: most pieces between window starts.

    Returns:
        `(example_index, window_start, window_length)`, each `(F,)` int32 for
        the batch's `F` windows in example order: the example a window
        covers, its first piece in that context, and its number of pieces.
    """
    window_size = max_sequence_length - question_length - 3  # (B,)
    step = tf.minimum(window_size, doc_stride)
    extra = tf.maximum(context_length - window_size, 0)
    windows = tf.ragged.range(1 + (extra + step - 1) // step)  # (B, W)
    example_index = tf.cast(row_ids(windows.row_splits), tf.int32)  # (F,)
    window_start = windows.flat_values * tf.gather(step, example_index)  # (F,) in pieces
    window_length = tf.minimum(
        tf.gather(window_size, example_index),
        tf.gather(context_length, example_index) - window_start,
    )
    return example_index, window_start, window_length


def _is_max_context(piece, in_window, window_position, window_length, num_pieces):
    """`run_squad.py`'s `_check_is_max_context`, for every position at once.

    A piece seen by several windows has its max context in the one where
    `min(pieces to its left, pieces to its right) + 0.01 * window length` is
    largest, the first such window on ties.

    Args:
        piece: `(F, L)` int32, the index of the context piece at each
            position among the batch's pieces; `num_pieces` outside the window.
        in_window: `(F, L)` bool, the positions that hold a context piece.
        window_position: `(F, L)` int32, each position counted from the
            window's first piece.
        window_length: `(F,)` int32, pieces in each window.
        num_pieces: the number of context pieces in the batch.

    Returns:
        `(F, L)` bool, true where the piece has its max context in this window.
    """
    score = tf.cast(
        tf.minimum(window_position, window_length[:, None] - 1 - window_position), tf.float64
    ) + 0.01 * tf.cast(window_length, tf.float64)[:, None]  # (F, L)
    best = tf.math.unsorted_segment_max(score, piece, num_pieces + 1)
    feature = tf.range(tf.shape(piece)[0])[:, None] + tf.zeros_like(piece)  # (F, L)
    tied = tf.gather(best, piece) == score
    first_best = tf.math.unsorted_segment_min(
        tf.where(tied, feature, tf.int32.max), piece, num_pieces + 1
    )  # the first window with the best score, for each piece
    return in_window & (tf.gather(first_best, piece) == feature)


def _answer_pieces(answer_begin, answer_end, context_begin, context_end):
    """The first and last context piece of each answer: those that overlap
    its bytes, `[answer_begin, answer_end)`.

    Args:
        answer_begin: `(B,)` byte offsets of the answers in their contexts.
        answer_end: `(B,)` the answers' end byte offsets (exclusive).
        context_begin: ragged `(B, N)` byte offsets of the context pieces.
        context_end: their end offsets.

    Returns:
        `(first, last)`, `(B,)` int32 piece indices within each context.
    """
    # Offsets grow along the context, so counting finds the first and the last.
    piece_row = row_ids(context_begin.row_splits)
    answer_begin = tf.gather(tf.cast(answer_begin, tf.int64), piece_row)
    answer_end = tf.gather(tf.cast(answer_end, tf.int64), piece_row)

    def count(condition):  # (pieces,) bool -> (B,) number true per context
        return tf.math.unsorted_segment_sum(
            tf.cast(condition, tf.int32), piece_row, context_begin.nrows(out_type=tf.int32)
        )

    return count(context_end.flat_values <= answer_begin), count(context_begin.flat_values < answer_end) - 1


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

    def split(features):  # -> (inputs, targets)
        inputs = {key: features[key] for key in SQUAD_INPUTS}
        if training:
            return inputs, {"start_logits": features["start_positions"], "end_logits": features["end_positions"]}
        return inputs, {key: features[key] for key in SQUAD_METADATA}

    windows = (
        tf.data.Dataset.from_tensor_slices(_squad_columns(examples, training))
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


def _squad_columns(examples, training):
    """The examples as tensors to slice: `question`, `context`, `example`
    (the index into `examples`) and, for training, `answer`: the first
    answer's `(begin, end)` bytes in its context."""
    columns = {
        "question": tf.constant([example.question for example in examples], tf.string),
        "context": tf.constant([example.context for example in examples], tf.string),
        "example": tf.range(len(examples), dtype=tf.int32),
    }
    if training:
        spans = [answer_byte_span(example.context, *example.answers[0]) for example in examples]
        columns["answer"] = tf.constant(spans, tf.int64, shape=[len(examples), 2])
    return columns


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
    token_begin = tf.cast(metadata["token_begin"], tf.int32)
    token_end = tf.cast(metadata["token_end"], tf.int32)
    is_context = token_begin >= 0
    can_start = is_context & tf.cast(metadata["token_is_max_context"], tf.bool)
    window_score, start, end = _best_span_of_each_window(
        tf.cast(start_logits, tf.float32), tf.cast(end_logits, tf.float32), can_start, is_context,
        n_best_size, max_answer_length,
    )  # (F,) each
    span_begin = tf.gather(token_begin, start, batch_dims=1)
    span_end = tf.gather(token_end, end, batch_dims=1)

    # The best window of each example (the earliest on ties), if it has a span.
    example_index = tf.cast(metadata["example_index"], tf.int32)
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


def _best_span_of_each_window(start_logits, end_logits, can_start, is_context, n_best_size, max_answer_length):
    """The best-scoring valid span of each window, as `squad_best_spans` says.

    Args:
        start_logits: `(F, length)` float32 logits of the windows.
        end_logits: `(F, length)`.
        can_start: `(F, length)` bool, the context pieces whose max context
            is this window.
        is_context: `(F, length)` bool, the context pieces.
        n_best_size: starts and ends considered per window.
        max_answer_length: longest answer in pieces.

    Returns:
        `(score, start, end)`, each `(F,)`: the span's score (-inf for a
        window without a valid span) and its first and last position.
    """
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
    start = tf.gather(starts, pair // k, batch_dims=1)
    end = tf.gather(ends, pair % k, batch_dims=1)
    return tf.reduce_max(score, axis=1), start, end


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
