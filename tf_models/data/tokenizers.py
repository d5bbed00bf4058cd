"""Subword tokenizers that run inside TensorFlow graphs.

Both tokenizers are `tf.Module`s: they work eagerly, inside `tf.data`
pipelines and inside `tf.function`s, and a SavedModel that holds one carries
its vocabulary (or SentencePiece model) as an asset, so raw strings can go in
at serving time.

* `WordPieceTokenizer` (BERT's) wraps tensorflow-text's `BertTokenizer`:
  lower-casing and accent stripping, punctuation and CJK characters split
  off, then greedy longest-match WordPiece. `train_wordpiece_vocabulary`
  learns a vocabulary from a list of strings (with the Hugging
  Face `tokenizers` trainer by default, which is 60x faster than
  tensorflow-text's Python learner; both are available).
* `SentencePieceTokenizer` wraps tensorflow-text's `SentencepieceTokenizer`
  over a model trained with the `sentencepiece` package.
* `CharacterTokenizer`: one token per Unicode character, for character-level
  language models (`train_character_tokenizer` keeps the commonest ones).

Token ids are int32 (what the models take); id 0 is always `[PAD]`.
"""

import io
import json
import os
import tempfile
from collections import Counter
from pathlib import Path

import tensorflow as tf
import tensorflow_text as tf_text
from tensorflow_text.python.ops.bert_tokenizer import BasicTokenizer
from tensorflow_text.tools.wordpiece_vocab import bert_vocab_from_dataset as bert_vocab

from tf_models import storage

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
START, END = "[START]", "[END]"
BERT_RESERVED_TOKENS = (PAD, UNK, CLS, SEP, MASK)
TRANSLATION_RESERVED_TOKENS = BERT_RESERVED_TOKENS + (START, END)


# Characters written without spaces between them: Chinese characters, kana,
# CJK punctuation ("。", "、", "「") and full-width forms ("，", "！", "（").
_CJK = r"[\p{Han}\p{Hiragana}\p{Katakana}\x{3000}-\x{303F}\x{FF00}-\x{FFEF}]"
# Their punctuation, which takes no space on either side, even next to a
# Latin word ("用 TLS 。" -> "用 TLS。").
_CJK_PUNCTUATION = r"[\x{3001}-\x{303F}\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF20}\x{FF3B}-\x{FF40}\x{FF5B}-\x{FF65}]"


def clean_utf8(strings):
    """Replaces invalid UTF-8 bytes with U+FFFD instead of failing later."""
    return tf.strings.unicode_transcode(
        strings, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD
    )


class _Tokenizer(tf.Module):
    """What both tokenizers share: the vocabulary and the special-token ids."""

    def __init__(self, vocabulary, name=None):
        super().__init__(name=name)
        self.vocabulary = list(vocabulary)
        self._ids = {token: i for i, token in enumerate(self.vocabulary)}
        if self.vocabulary[0] != PAD:
            raise ValueError(f"Id 0 must be {PAD} (the models pad with 0), got {self.vocabulary[0]!r}.")
        self._special_ids = tf.constant(
            [self._ids[t] for t in TRANSLATION_RESERVED_TOKENS if t in self._ids], tf.int32
        )

    @property
    def vocabulary_size(self):
        return len(self.vocabulary)

    def token_to_id(self, token):
        """The id of `token`; raises `KeyError` for unknown tokens."""
        return self._ids[token]

    def id_to_token(self, token_id):
        return self.vocabulary[token_id]

    # The reserved tokens' ids, `None` when the vocabulary lacks one.
    padding_id = property(lambda self: self._ids.get(PAD))
    unk_id = property(lambda self: self._ids.get(UNK))
    cls_id = property(lambda self: self._ids.get(CLS))
    sep_id = property(lambda self: self._ids.get(SEP))
    mask_id = property(lambda self: self._ids.get(MASK))
    start_id = property(lambda self: self._ids.get(START))
    end_id = property(lambda self: self._ids.get(END))

    @property
    def special_ids(self):
        """int32 ids of the reserved tokens present in the vocabulary."""
        return self._special_ids

    def strip_special_tokens(self, token_ids):
        """Drops reserved tokens (padding, start, end, ...) from ragged ids."""
        token_ids = tf.cast(token_ids, tf.int32)
        if not isinstance(token_ids, tf.RaggedTensor):
            token_ids = tf.RaggedTensor.from_tensor(token_ids)
        is_special = tf.reduce_any(
            token_ids.flat_values[:, None] == self._special_ids[None, :], axis=-1
        )
        return tf.ragged.boolean_mask(token_ids, token_ids.with_flat_values(~is_special))


class WordPieceTokenizer(_Tokenizer):
    """BERT's WordPiece tokenizer, in the graph.

    Args:
        vocabulary_file: a `vocab.txt`, one token per line, `[PAD]` first.
        lower_case: lower-case and strip accents (BERT "uncased").
        name: module name.

    Example:
    >>> import tempfile
    >>> path = tempfile.mkdtemp() + "/vocab.txt"
    >>> tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat",
    ...           "sat", "##s", "."]
    >>> _ = open(path, "w").write("\\n".join(tokens) + "\\n")
    >>> tokenizer = WordPieceTokenizer(path)
    >>> ids = tokenizer.tokenize(["The cats sat."])
    >>> ids.to_list()
    [[5, 6, 8, 7, 9]]
    >>> tokenizer.detokenize(ids).numpy().tolist()
    [b'the cats sat.']
    """

    def __init__(self, vocabulary_file, lower_case=True, name=None):
        # Split on "\n" only, as TensorFlow's TextFileInitializer does
        # (str.splitlines would also split on rarer line breaks).
        vocabulary = Path(vocabulary_file).read_text(encoding="utf-8").rstrip("\n").split("\n")
        super().__init__(vocabulary, name=name)
        self.lower_case = lower_case
        # An Asset, so that an exported SavedModel copies the file with it.
        self.vocabulary_file = tf.saved_model.Asset(str(vocabulary_file))
        table = tf.lookup.StaticVocabularyTable(
            tf.lookup.TextFileInitializer(
                self.vocabulary_file,
                key_dtype=tf.string,
                key_index=tf.lookup.TextFileIndex.WHOLE_LINE,
                value_dtype=tf.int64,
                value_index=tf.lookup.TextFileIndex.LINE_NUMBER,
            ),
            num_oov_buckets=1,
            # Reachable only through this handle: never shared by name with
            # another tokenizer's table.
            experimental_is_anonymous=True,
        )
        self._tokenizer = tf_text.BertTokenizer(
            table,
            lower_case=lower_case,
            token_out_type=tf.int32,
            unknown_token=UNK,
        )

    def tokenize(self, strings):
        """Raw strings to token ids.

        Args:
            strings: string tensor of shape `(batch,)` (or a scalar).

        Returns:
            A ragged int32 tensor `(batch, None)` (or `(None,)`).
        """
        pieces = self._tokenizer.tokenize(clean_utf8(strings))  # (..., words, pieces)
        return pieces.merge_dims(-2, -1)

    def tokenize_words(self, strings):
        """Like `tokenize`, but keeps the word axis: `(batch, words, pieces)`.

        Whole-word masking uses it to mask every piece of a word together.
        """
        return self._tokenizer.tokenize(clean_utf8(strings))

    def detokenize(self, token_ids):
        """Token ids back to text, reserved tokens dropped.

        WordPiece loses the original spacing around punctuation; this puts
        the common cases back ("cat ." -> "cat.", "( a )" -> "(a)",
        "I ’ ll" -> "I’ll"), and joins Chinese and Japanese characters and
        their full-width punctuation again, which the tokenizer splits one
        by one ("打 开 文 件 ，" -> "打开文件，").

        Args:
            token_ids: int tensor `(batch, length)`, dense or ragged.

        Returns:
            A string tensor `(batch,)`.
        """
        words = self._tokenizer.detokenize(self.strip_special_tokens(token_ids))
        text = tf.strings.reduce_join(words, axis=-1, separator=" ")
        text = tf.strings.regex_replace(text, r" ([.,!?;:%)\]}])", r"\1")
        text = tf.strings.regex_replace(text, r"([(\[{$]) ", r"\1")
        text = tf.strings.regex_replace(text, r" (['’]) ", r"\1")
        text = tf.strings.regex_replace(text, f" ?({_CJK_PUNCTUATION}) ?", r"\1")
        # RE2 has no look-ahead: one pass joins disjoint pairs ("a b c" ->
        # "ab c"), a second the gaps left between them.
        for _ in range(2):
            text = tf.strings.regex_replace(text, f"({_CJK}) ({_CJK})", r"\1\2")
        return text

    def save_vocabulary(self, path):
        """Writes the vocabulary, one token per line, to `path`."""
        storage.write_text(path, "\n".join(self.vocabulary) + "\n")
        return path

    def tokenize_with_offsets(self, strings):
        """Like `tokenize`, plus where each piece came from in the input.

        The offsets are byte offsets into the original UTF-8 strings, as
        given: `strings[i][begin[i, j]:end[i, j]]` are the bytes that piece
        `j` was made from, with their original case, accents and spacing.
        (tensorflow-text's own offsets point into its normalised text, which
        differs from the input whenever lower-casing, accent stripping,
        NFKC or control-character replacement change a byte length, as in
        "Café" or "STRAẞE".) A `##` piece covers its part of the word; a
        character that normalises to nothing (a combining accent, a
        variation selector, a zero-width space) belongs to the character
        before it; when one character becomes several (the ligature "ﬁ" is
        "fi") and pieces split them, those pieces share the character's
        offsets. Invalid UTF-8 bytes read as U+FFFD, as in `tokenize`, with
        offsets that cover the invalid bytes. The ids are always those of
        `tokenize`.

        Args:
            strings: string tensor of shape `(batch,)` (or a scalar).

        Returns:
            `(token_ids, begin, end)`: ragged `(batch, None)` (or `(None,)`)
            tensors, int32 ids and int64 byte offsets, `begin < end`.

        Example:
        >>> import tempfile
        >>> path = tempfile.mkdtemp() + "/vocab.txt"
        >>> _ = open(path, "w").write("[PAD]\\n[UNK]\\n[CLS]\\n[SEP]\\ncafe\\n!\\n")
        >>> tokenizer = WordPieceTokenizer(path)
        >>> ids, begin, end = tokenizer.tokenize_with_offsets(["Café!"])
        >>> ids.to_list(), begin.to_list(), end.to_list()
        ([[4, 5]], [[0, 5]], [[5, 6]])
        >>> "Café!".encode()[0:5].decode()
        'Café'
        """
        strings = tf.convert_to_tensor(strings, tf.string)
        if strings.shape.rank == 0:
            ids, begin, end = self.tokenize_with_offsets(strings[None])
            return ids[0], begin[0], end[0]
        chars, char_begin, normalized = self._normalize_characters(strings)
        num_rows = tf.shape(strings, out_type=tf.int64)[0]
        char_row = row_ids(chars.row_splits)
        text = tf.strings.unsorted_segment_join(normalized, char_row, num_rows)  # (B,)

        # BertTokenizer's two stages, called apart: its own
        # tokenize_with_offsets adds word and piece offsets by ragged
        # broadcasting, a graph six times the size of this flat addition.
        words, word_begin, _ = self._tokenizer._basic_tokenizer.tokenize_with_offsets(text)
        pieces, piece_begin, piece_end = self._tokenizer._wordpiece_tokenizer.tokenize_with_offsets(
            words.flat_values
        )  # (words, pieces), offsets within the word
        # Positions in the whole batch's `text`, its rows laid end to end.
        length = tf.cast(tf.strings.length(normalized, unit="BYTE"), tf.int64)  # (N,)
        char_start = tf.cumsum(length, exclusive=True)
        row_start = tf.gather(tf.concat([char_start, [tf.reduce_sum(length)]], 0), chars.row_splits)
        word_start = word_begin.flat_values + tf.gather(row_start, row_ids(words.row_splits))
        word_start = tf.gather(word_start, row_ids(pieces.row_splits))  # (pieces,)
        begin, end = _offsets_in_strings(
            word_start + piece_begin.flat_values,
            word_start + piece_end.flat_values,
            strings, char_row, char_begin.flat_values, char_start, length,
        )

        splits = tf.gather(pieces.row_splits, words.row_splits)  # pieces per string
        ids, begin, end = (
            tf.RaggedTensor.from_row_splits(values, splits, validate=False)
            for values in (tf.cast(pieces.flat_values, tf.int32), begin, end)
        )
        return ids, begin, end

    def _normalize_characters(self, strings):
        """Normalises each character of `strings` on its own.

        The steps are those BertTokenizer's basic tokenizer applies to whole
        strings; one character at a time, every normalised byte knows its
        source character. Joined, the pieces equal the whole-string result,
        and normalising them again changes nothing (the tests check every
        code point), so BertTokenizer gives the ids of `tokenize` and
        offsets into the joined text.

        Args:
            strings: `(batch,)` strings.

        Returns:
            `(chars, char_begin, normalized)`: ragged `(batch, None)` code
            points and their byte offsets into `strings`, and the UTF-8 that
            each of them becomes, `(characters,)` strings (maybe empty).
        """
        chars, char_begin = tf.strings.unicode_decode_with_offsets(
            strings, "UTF-8", errors="replace", replacement_char=0xFFFD
        )
        normalized = tf.strings.unicode_encode(chars.flat_values[:, None], "UTF-8")
        if self.lower_case:
            normalized = tf_text.case_fold_utf8(normalized)  # NFKC_Casefold
            normalized = tf_text.normalize_utf8(normalized, "NFD")
            normalized = tf.strings.regex_replace(normalized, r"\p{Mn}", "")
        normalized = tf.strings.regex_replace(normalized, r"\p{Cc}|\p{Cf}", " ")
        return chars, char_begin, normalized


def _offsets_in_strings(begin_in_text, end_in_text, strings, char_row, char_begin, char_start, length):
    """Byte offsets in the normalised text -> byte offsets in `strings`.

    Each character that normalises to something owns the original bytes
    from its start to the next such character's (or the end of its string);
    an offset maps to the character that owns it.

    Args:
        begin_in_text: `(pieces,)` int64 piece begins in the batch's
            normalised text, its rows laid end to end.
        end_in_text: `(pieces,)` int64 piece ends (exclusive).
        strings: the `(batch,)` original strings.
        char_row: `(characters,)` the string of each character.
        char_begin: `(characters,)` its byte offset in its string.
        char_start: `(characters,)` where its normalised bytes start in the
            text.
        length: `(characters,)` how many bytes it normalises to.

    Returns:
        `(begin, end)`: `(pieces,)` int64 byte offsets into the strings.
    """
    keep = length > 0
    kept_row = tf.boolean_mask(char_row, keep)
    kept_start = tf.boolean_mask(char_start, keep)
    owned_begin = tf.boolean_mask(char_begin, keep)
    byte_length = tf.cast(tf.strings.length(strings, unit="BYTE"), tf.int64)
    next_in_row = tf.concat([kept_row[1:] == kept_row[:-1], [False]], axis=0)
    owned_end = tf.where(
        next_in_row,
        tf.concat([owned_begin[1:], [0]], axis=0),
        tf.gather(byte_length, kept_row),
    )

    def owner(position):  # positions in the batch's text -> the kept character there
        return tf.searchsorted(kept_start[None], position[None], side="right")[0] - 1

    return tf.gather(owned_begin, owner(begin_in_text)), tf.gather(owned_end, owner(end_in_text - 1))


def row_ids(row_splits):
    """The row of each value of a ragged tensor with these row splits.

    What `RaggedTensor.value_rowids` computes, in two ops instead of ~70.

    Args:
        row_splits: 1-D int row splits, as `RaggedTensor.row_splits`.

    Example:
    >>> row_ids(tf.constant([0, 2, 2, 3], tf.int64)).numpy().tolist()
    [0, 0, 2]
    """
    values = tf.range(row_splits[-1], dtype=row_splits.dtype)[None]
    rows = tf.searchsorted(row_splits[None], values, side="right", out_type=row_splits.dtype)
    return rows[0] - 1


def _text_dataset(texts):
    """Strings as a dataset, which both learners stream through `clean_utf8`."""
    if isinstance(texts, tf.data.Dataset):
        return texts
    texts = list(texts)
    return tf.data.Dataset.from_tensor_slices(tf.constant(texts, tf.string, shape=[len(texts)]))


def train_wordpiece_vocabulary(
    texts,
    vocabulary_size,
    reserved_tokens=BERT_RESERVED_TOKENS,
    lower_case=True,
    learner="fast",
    batch_size=1000,
    max_characters=1000,
):
    """Learns a WordPiece vocabulary from text, as BERT's was.

    Two learners give vocabularies in the same format (reserved tokens, then
    `##`-prefixed continuation pieces mixed with word-initial pieces) and
    feed the same in-graph `WordPieceTokenizer`. Both learn from the words
    that tokenizer's first stage cuts (tensorflow-text's BERT basic
    tokenizer: lower-casing and accents as `lower_case` says, punctuation
    and every Chinese character a word of its own), so a word the graph
    makes is a word the vocabulary was learned from:

    * `"fast"`: the Hugging Face `tokenizers` trainer (Rust; about a second
      for the 37,000 sentences of the Ding corpus);
    * `"tensorflow_text"`: tensorflow-text's `bert_vocab_from_dataset`
      (pure Python; about a minute for the same corpus).

    Both give the same vocabulary for the same text in every process, so a
    run is reproducible from its command alone (`_fixed_numbering` says how
    the fast learner is made so).

    Args:
        texts: a list of strings, or a `tf.data.Dataset` of scalar strings.
        vocabulary_size: the target size (`"tensorflow_text"` can end a
            little below: it works by word-count thresholds).
        reserved_tokens: tokens put first, in order; `[PAD]` must be first.
        lower_case: lower-case and strip accents first.
        learner: `"fast"` or `"tensorflow_text"`.
        batch_size: strings per batch while reading `texts`.
        max_characters: the fast learner keeps this many of the commonest
            characters (ties broken by code point); rarer ones become `[UNK]`.

    Returns:
        The vocabulary, a list of tokens, reserved tokens first.

    Example:
    >>> vocabulary = train_wordpiece_vocabulary(["a cat sat", "the cats"] * 10, 50)
    >>> vocabulary[:5], "cat" in vocabulary
    (['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'], True)
    """
    if reserved_tokens[0] != PAD:
        raise ValueError(f"reserved_tokens must start with {PAD}.")
    texts = _text_dataset(texts).map(clean_utf8).batch(batch_size).prefetch(tf.data.AUTOTUNE)
    if learner == "tensorflow_text":
        return bert_vocab.bert_vocab_from_dataset(
            texts,
            vocab_size=vocabulary_size,
            reserved_tokens=list(reserved_tokens),
            bert_tokenizer_params={"lower_case": lower_case},
            learn_params={},
        )
    if learner != "fast":
        raise ValueError(f"learner must be 'fast' or 'tensorflow_text', got {learner!r}.")
    from tokenizers import BertWordPieceTokenizer, normalizers, pre_tokenizers

    # The trainer learns from the words the in-graph tokenizer makes, not
    # from its own BERT normaliser and splitter: those differ from
    # tensorflow-text's where Chinese text needs them most (full-width "，"
    # is "," once lower-cased in the graph; the ideographic space U+3000
    # splits words for one, not the other), and every such difference is a
    # vocabulary entry the graph never asks for, or an [UNK] in its place.
    # Private-use characters (icon-font glyphs in some catalogues) are left
    # out: they are [UNK] in the graph, as the trainer's own cleaning made them.
    basic = BasicTokenizer(lower_case=lower_case)
    words = texts.map(lambda batch: tf.strings.reduce_join(
        basic.tokenize(tf.strings.regex_replace(batch, r"\p{Co}", " ")), axis=-1, separator=" "))
    trainer = BertWordPieceTokenizer(lowercase=False, strip_accents=False, clean_text=False)
    trainer.normalizer = normalizers.Sequence([])
    trainer.pre_tokenizer = pre_tokenizers.Split(" ", behavior="removed")
    strings = [text.decode("utf-8") for batch in words.as_numpy_iterator() for text in batch]
    alphabet, continuations = _fixed_numbering(strings, trainer, max_characters)
    trainer.train_from_iterator(
        strings,
        vocab_size=vocabulary_size,
        special_tokens=[*reserved_tokens, *continuations],
        initial_alphabet=alphabet,
        limit_alphabet=len(alphabet),
        show_progress=False,
    )
    token_ids = trainer.get_vocab()
    return sorted(token_ids, key=token_ids.get)


def _fixed_numbering(strings, trainer, max_characters):
    """What makes the fast learner give one vocabulary in every process:
    `(alphabet, continuation pieces)` to hand it up front.

    The `tokenizers` trainer numbers the `##c` piece of each character that
    continues a word in the order it meets them in a hash map, and breaks
    ties between equally frequent merges by those numbers; it also drops
    rare characters in an order that ties leave to chance. Both orders
    change from process to process (huggingface/tokenizers#1794), and so did
    the vocabulary. Given as special tokens, in sorted order, the `##c`
    pieces are numbered before training starts, and an alphabet chosen here
    (the commonest characters, ties broken by code point) is kept whole.

    Args:
        strings: the training text, a list of strings.
        trainer: the `BertWordPieceTokenizer` (its normalizer and word splitter).
        max_characters: the most characters kept.

    Returns:
        The kept characters, and the sorted `##c` pieces among them.
    """
    counts, continuing = Counter(), set()
    for start in range(0, len(strings), 1000):  # many strings per call: words never span the spaces between
        text = trainer.normalizer.normalize_str(" ".join(strings[start : start + 1000]))
        words = [word for word, _ in trainer.pre_tokenizer.pre_tokenize_str(text)]
        counts.update("".join(words))
        continuing.update("".join(word[1:] for word in words))
    alphabet = sorted(counts, key=lambda character: (-counts[character], character))[:max_characters]
    return alphabet, ["##" + character for character in sorted(continuing.intersection(alphabet))]


def train_wordpiece_tokenizer(texts, vocabulary_size, vocabulary_file, **kwargs):
    """Trains a vocabulary, writes it to `vocabulary_file`, returns the tokenizer.

    Args:
        texts: a list of strings, or a `tf.data.Dataset` of scalar strings.
        vocabulary_size: target vocabulary size.
        vocabulary_file: where `vocab.txt` goes.
        **kwargs: `reserved_tokens`, `lower_case`, `learner`, `batch_size`
            of `train_wordpiece_vocabulary`.
    """
    vocabulary = train_wordpiece_vocabulary(texts, vocabulary_size, **kwargs)
    Path(vocabulary_file).parent.mkdir(parents=True, exist_ok=True)
    storage.write_text(vocabulary_file, "\n".join(vocabulary) + "\n")
    return WordPieceTokenizer(vocabulary_file, lower_case=kwargs.get("lower_case", True))


class SentencePieceTokenizer(_Tokenizer):
    """A SentencePiece tokenizer, in the graph.

    SentencePiece needs no pre-tokenization and keeps whitespace, so
    detokenization restores the text exactly (after normalisation).

    Args:
        model_file: a `.model` file written by `train_sentencepiece_tokenizer`
            (or by `sentencepiece` with `[PAD]` as id 0).
        name: module name.

    Example:
    >>> import tempfile
    >>> texts = tf.data.Dataset.from_tensor_slices(["the cat sat on the mat"] * 50)
    >>> tokenizer = train_sentencepiece_tokenizer(
    ...     texts, 30, tempfile.mkdtemp() + "/sp.model")
    >>> tokenizer.detokenize(tokenizer.tokenize(["the mat sat"])).numpy()
    array([b'the mat sat'], dtype=object)
    """

    def __init__(self, model_file, name=None):
        import sentencepiece

        self._model = Path(model_file).read_bytes()
        processor = sentencepiece.SentencePieceProcessor(model_proto=self._model)
        super().__init__(
            [processor.id_to_piece(i) for i in range(processor.get_piece_size())], name=name
        )
        self.model_file = tf.saved_model.Asset(str(model_file))
        self._tokenizer = tf_text.SentencepieceTokenizer(model=self._model, out_type=tf.int32)

    def tokenize(self, strings):
        """Raw strings `(batch,)` to ragged int32 ids `(batch, None)`."""
        return self._run("tokenize", clean_utf8(strings))

    def detokenize(self, token_ids):
        """Ids `(batch, length)` to strings `(batch,)`, reserved tokens dropped."""
        return self._run("detokenize", self.strip_special_tokens(token_ids))

    def _run(self, method, inputs):
        try:
            return getattr(self._tokenizer, method)(inputs)
        except tf.errors.NotFoundError:
            # tensorflow-text keeps the model in a kernel-owned resource that
            # `tf.random.set_seed` (and `keras.utils.set_random_seed`) destroy
            # by clearing the kernel cache. Eagerly, rebuild it and retry;
            # inside a graph, create the tokenizer after seeding.
            if not tf.executing_eagerly():
                raise
            self._tokenizer = tf_text.SentencepieceTokenizer(model=self._model, out_type=tf.int32)
            return getattr(self._tokenizer, method)(inputs)


def train_sentencepiece_tokenizer(
    texts,
    vocabulary_size,
    model_file,
    reserved_tokens=TRANSLATION_RESERVED_TOKENS,
    model_type="unigram",
    character_coverage=1.0,
):
    """Trains a SentencePiece model with the reserved tokens first.

    Args:
        texts: a list of strings, or a `tf.data.Dataset` of scalar strings.
        vocabulary_size: exact vocabulary size.
        model_file: where the `.model` file goes.
        reserved_tokens: `[PAD]`, `[UNK]`, then control tokens, in order.
        model_type: `"unigram"` or `"bpe"`.
        character_coverage: fraction of characters covered (lower for CJK).

    Returns:
        A `SentencePieceTokenizer`.
    """
    import sentencepiece

    if tuple(reserved_tokens[:2]) != (PAD, UNK):
        raise ValueError(f"reserved_tokens must start with {PAD}, {UNK}.")
    sentences = (t.decode("utf-8") for t in _text_dataset(texts).map(clean_utf8).as_numpy_iterator())
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=sentences,
        model_writer=model,
        vocab_size=vocabulary_size,
        model_type=model_type,
        character_coverage=character_coverage,
        pad_id=0,  # SentencePiece's own argument names
        pad_piece=PAD,
        unk_id=1,
        unk_piece=UNK,
        bos_id=-1,
        eos_id=-1,
        control_symbols=list(reserved_tokens[2:]),
        hard_vocab_limit=False,
        minloglevel=2,
    )
    Path(model_file).parent.mkdir(parents=True, exist_ok=True)
    # Write atomically: a half-written model would fail to load later.
    with tempfile.NamedTemporaryFile(dir=Path(model_file).parent, delete=False) as handle:
        handle.write(model.getvalue())
    os.replace(handle.name, model_file)
    return SentencePieceTokenizer(model_file)


CHARACTER_RESERVED_TOKENS = (PAD, UNK, END)


class CharacterTokenizer(_Tokenizer):
    """One token per Unicode character, in the graph: a character-level vocabulary.

    Characters outside the vocabulary (and invalid UTF-8, read as U+FFFD)
    become `[UNK]`. `[END]` ends a text, e.g. between documents. The
    vocabulary is a JSON list (newlines and spaces are tokens too), with the
    reserved tokens first.

    Args:
        vocabulary_file: the JSON file `train_character_tokenizer` writes.
        name: module name.

    Example:
    >>> import tempfile
    >>> path = tempfile.mkdtemp() + "/characters.json"
    >>> tokenizer = train_character_tokenizer(["a cat", "a bat"], path)
    >>> ids = tokenizer.tokenize(["a cab!"])
    >>> [tokenizer.id_to_token(i) for i in ids[0].numpy()]
    ['a', ' ', 'c', 'a', 'b', '[UNK]']
    >>> tokenizer.detokenize(ids).numpy().tolist()
    [b'a cab']
    """

    def __init__(self, vocabulary_file, name=None):
        vocabulary = json.loads(Path(vocabulary_file).read_text(encoding="utf-8"))
        super().__init__(vocabulary, name=name)
        self.lower_case = False
        self._table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(self.vocabulary), tf.range(self.vocabulary_size, dtype=tf.int32)
            ),
            default_value=self.unk_id,
        )
        # What each id prints as: the reserved tokens print as nothing.
        reserved = set(CHARACTER_RESERVED_TOKENS)
        self._characters = tf.constant(["" if token in reserved else token for token in self.vocabulary])

    def tokenize(self, strings):
        """Strings `(batch,)` to ragged int32 ids `(batch, None)`, one per character."""
        characters = tf.strings.unicode_split(strings, "UTF-8", errors="replace")  # (B, None)
        return characters.with_flat_values(self._table.lookup(characters.flat_values))

    def detokenize(self, token_ids):
        """Ids `(batch, length)` to strings `(batch,)`, reserved tokens dropped."""
        characters = tf.gather(self._characters, self.strip_special_tokens(token_ids))
        return tf.strings.reduce_join(characters, axis=-1)


def train_character_tokenizer(texts, vocabulary_file, max_characters=None,
                              reserved_tokens=CHARACTER_RESERVED_TOKENS):
    """Keeps the characters of `texts`, commonest first, as a `CharacterTokenizer`.

    Args:
        texts: a list of strings.
        vocabulary_file: where the JSON vocabulary goes.
        max_characters: keep at most this many characters (None: all).
        reserved_tokens: tokens put first; `[PAD]` first, `[UNK]` needed.

    Returns:
        A `CharacterTokenizer`.
    """
    if tuple(reserved_tokens[:2]) != (PAD, UNK):
        raise ValueError(f"reserved_tokens must start with {PAD}, {UNK}.")
    counts = Counter(character for text in texts for character in text)
    # Commonest first; ties in code-point order, so the vocabulary is reproducible.
    characters = sorted(counts, key=lambda character: (-counts[character], character))[:max_characters]
    Path(vocabulary_file).parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(list(reserved_tokens) + characters, ensure_ascii=False)
    if not Path(vocabulary_file).exists() or Path(vocabulary_file).read_text(encoding="utf-8") != text:
        storage.write_text(vocabulary_file, text)  # rewritten only if it changed: a resume reads the same file
    return CharacterTokenizer(vocabulary_file)
