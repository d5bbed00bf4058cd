"""Text corpora on disk, read into `tf.data.Dataset`s in three shapes.

The rest of the package consumes exactly these element formats:

* **sentence pairs** (translation): `(source, target)`, two scalar `tf.string`s;
* **documents** (BERT pretraining): one document per element, a 1-D
  `tf.string` tensor of its sentences;
* **labelled text** (classification): `ClassificationData`, whose dataset
  yields `(texts, label)` with `texts` a tuple of one or two scalar
  `tf.string`s and `label` an int32 index into `label_names`
  (`load_regression_tsv`: a float32 score instead, as STS-B has).

Fine-tuning tasks beyond classification read into Python objects, which
`tf_models.data.tagging_and_squad` turns into model inputs:

* **tagged words** (CoNLL): `TaggingData`, sentences as word lists and a tag
  index per word;
* **questions with answer spans** (SQuAD v1.1): a list of `SquadExample`.

Every reader validates what it reads. A bad file raises `CorpusError`, whose
message names the file and the 1-based line: a file that is empty or looks
binary, rows with the wrong number of columns, a missing header column, an
unknown label, parallel files of different lengths. What a reader skips on
purpose (an empty side of a pair, an empty document) is counted and logged,
never dropped silently.

Files are read whole into memory, which suits corpora up to a few hundred
megabytes; lines are stripped of surrounding whitespace and a UTF-8 byte-order
mark. TSV files are split on tabs with no quoting, as GLUE's are.

`read_r_lazyload` reads R's lazy-load data bases, the format in which R
packages (and so Debian's `r-cran-*` packages) ship their data sets.
"""

import bz2
import dataclasses
import json
import logging
import lzma
import math
import re
import struct
import zlib
from pathlib import Path

import tensorflow as tf

logger = logging.getLogger(__name__)


class CorpusError(ValueError):
    """A corpus file is missing, malformed, or cannot be fetched."""


@dataclasses.dataclass(frozen=True)
class ClassificationData:
    """A labelled-text dataset and the names of its labels.

    Attributes:
        dataset: a `tf.data.Dataset` of `(texts, label)`: `texts` is a tuple
            of one or two scalar `tf.string` tensors (a sentence, or a
            sentence pair), `label` an int32 scalar indexing `label_names`.
        label_names: tuple of str, the name of each label index.
    """

    dataset: tf.data.Dataset
    label_names: tuple

    @property
    def num_classes(self):
        return len(self.label_names)


# ---------------------------------------------------------------- sentences

# A sentence ends at . ! or ? (maybe followed by closing quotes or brackets)
# when whitespace and then an opening quote or bracket, or an upper-case
# letter (ASCII or Latin-1, so German's Ä, Ö, Ü count), follow. Lower-case
# after the gap ('"Why?" she asked.') means the sentence goes on.
_SENTENCE_BREAK = re.compile(r"""[.!?]+["'’”)\]]*(?=\s+(["'‘“„(\[_]|[A-ZÀ-ÖØ-Þ]))""")
_LAST_WORD = re.compile(r"[\w.]*$")
# Titles and abbreviations whose full stop rarely ends a sentence.
ABBREVIATIONS = frozenset(
    "Mr Mrs Ms Messrs Dr St Mt Prof Rev Capt Col Gen Lt Sgt Gov Hon Jr Sr vs e.g i.e".split()
)


def split_sentences(text):
    """Splits text into sentences with a simple, predictable rule.

    A sentence ends at `.`, `!` or `?` (and any closing quotes or brackets
    after it) when whitespace and then an upper-case letter or an opening
    quote or bracket follow. A full stop does not end a sentence after a known
    abbreviation (`ABBREVIATIONS`: "Mr.", "Mrs.", "Dr.", "St.", ...) or after
    a single capital, which is taken for an initial ("J. Smith"). It is no
    match for a trained splitter (it splits '"Why?" Emma asked.' in two), but
    it is fast, has no data files and is easy to reason about.

    Args:
        text: a string, e.g. one line or paragraph.

    Returns:
        A list of the non-empty sentences, stripped of surrounding whitespace.

    Example:
    >>> split_sentences('Mr. Knightley came. "Is it true?" he asked. It was.')
    ['Mr. Knightley came.', '"Is it true?" he asked.', 'It was.']
    """
    sentences, start = [], 0
    for match in _SENTENCE_BREAK.finditer(text):
        # The word before the stop, also when glued on as in "was--Mrs.".
        before = text[max(start, match.start() - 30) : match.start()]  # abbreviations are short
        last_word = _LAST_WORD.search(before).group().strip("._")
        is_abbreviation = match.group() == "." and (
            last_word in ABBREVIATIONS or (len(last_word) == 1 and last_word.isupper())
        )
        if not is_abbreviation:
            sentences.append(text[start : match.end()].strip())
            start = match.end()
    sentences.append(text[start:].strip())
    return [sentence for sentence in sentences if sentence]


_split_into_sentences = split_sentences  # load_documents' flag of that name hides it


# ------------------------------------------------------------- reading text


def _error(path, line_number, message):
    where = f"{path}, line {line_number}" if line_number else f"{path}"
    return CorpusError(f"{where}: {message}")


def _decode_lines(path):
    """The lines of a UTF-8 file, unstripped except for line endings and a BOM."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CorpusError(f"{path}: cannot read ({error.strerror or error})") from error
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    raw_lines = data.split(b"\n")
    if raw_lines[-1] == b"":  # a final newline ends the last line, it starts none
        raw_lines.pop()
    lines = []
    for line_number, raw in enumerate(raw_lines, start=1):
        if b"\0" in raw:
            raise _error(path, line_number, "looks binary (NUL byte); expected UTF-8 text")
        try:
            lines.append(raw.decode("utf-8").removesuffix("\r"))
        except UnicodeDecodeError as error:
            message = f"looks binary (invalid UTF-8 at byte {error.start} of the line)"
            raise _error(path, line_number, f"{message}; expected UTF-8 text") from None
    if not any(line.strip() for line in lines):
        raise _error(path, None, "empty file (no non-blank line)")
    return lines


def read_lines(path):
    """Reads a UTF-8 text file into a list of lines, refusing binary files.

    Args:
        path: path to the file.

    Returns:
        The lines, without line endings (`\\n` or `\\r\\n`), a leading
        byte-order mark or surrounding whitespace.

    Raises:
        CorpusError: when the file is missing, empty (no non-blank line), or
            looks binary (a NUL byte or invalid UTF-8), naming the line.

    Example:
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "a.txt"
    >>> _ = path.write_bytes(b"\\xef\\xbb\\xbfone\\r\\n two \\n")
    >>> read_lines(path)
    ['one', 'two']
    """
    return [line.strip() for line in _decode_lines(path)]


def _read_tsv(path):
    """The rows of a TSV file as lists of fields; `None` for each blank line.

    Every other row must have as many fields as the first.
    """
    rows = [line.split("\t") if line.strip() else None for line in _decode_lines(path)]
    width = None
    for line_number, row in enumerate(rows, start=1):
        if row is None:
            continue
        if width is None:
            width, first_line = len(row), line_number
        elif len(row) != width:
            raise _error(
                path, line_number, f"{len(row)} columns, expected {width} like line {first_line} "
                "(a tab inside a field, or a missing one?)"
            )
    return rows


# --------------------------------------------------------------- datasets


def pairs_dataset(sources, targets):
    """A dataset of `(source, target)` scalar string pairs from two lists.

    Example:
    >>> ds = pairs_dataset(["Hallo!"], ["Hello!"])
    >>> [(s.numpy(), t.numpy()) for s, t in ds]
    [(b'Hallo!', b'Hello!')]
    """
    return tf.data.Dataset.from_tensor_slices(
        (tf.constant(list(sources), tf.string), tf.constant(list(targets), tf.string))
    )


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


def classification_data(texts, labels, label_names):
    """Wraps parallel lists of texts and label indices as `ClassificationData`.

    Args:
        texts: a list of strings, or a tuple of one or two lists (a sentence
            pair per example).
        labels: a list of int label indices.
        label_names: the name of each index.

    Example:
    >>> data = classification_data(["good", "bad"], [1, 0], ("neg", "pos"))
    >>> (texts, label), = data.dataset.take(1)
    >>> texts[0].numpy(), int(label), data.label_names[label]
    (b'good', 1, 'pos')
    """
    if not isinstance(texts, tuple):
        texts = (texts,)
    if len(texts) not in (1, 2):
        raise ValueError(f"Expected one or two text columns, got {len(texts)}.")
    columns = tuple(tf.constant(list(column), tf.string) for column in texts)
    dataset = tf.data.Dataset.from_tensor_slices((columns, tf.constant(list(labels), tf.int32)))
    return ClassificationData(dataset, tuple(str(name) for name in label_names))


# ------------------------------------------------------------ file formats


def _keep_complete_pairs(sources, targets, description):
    """Drops pairs with an empty side, counting them."""
    pairs = [(s, t) for s, t in zip(sources, targets) if s and t]
    skipped = len(sources) - len(pairs)
    if skipped:
        logger.warning("skipped %d pairs with an empty side in %s", skipped, description)
    if not pairs:
        raise CorpusError(f"{description}: no pair has two non-empty sides")
    return [s for s, _ in pairs], [t for _, t in pairs]


def load_parallel_files(source_path, target_path):
    """Reads two line-aligned text files (line i of one translates line i of the other).

    Args:
        source_path: file of source sentences, one per line.
        target_path: file of target sentences, one per line.

    Returns:
        A `tf.data.Dataset` of `(source, target)` scalar `tf.string` pairs.
        Pairs with an empty side are skipped and counted in the log.

    Raises:
        CorpusError: when the files differ in line count, or either is
            empty or binary.

    Example:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.en").write_text("Hello.\\nThanks!\\n")
    >>> _ = (folder / "a.de").write_text("Hallo.\\nDanke!\\n")
    >>> ds = load_parallel_files(folder / "a.en", folder / "a.de")
    >>> [(s.numpy(), t.numpy()) for s, t in ds]
    [(b'Hello.', b'Hallo.'), (b'Thanks!', b'Danke!')]
    """
    sources, targets = read_lines(source_path), read_lines(target_path)
    if len(sources) != len(targets):
        raise CorpusError(
            f"parallel files differ in length: {source_path} has {len(sources)} lines, "
            f"{target_path} has {len(targets)}"
        )
    sources, targets = _keep_complete_pairs(sources, targets, f"{source_path} and {target_path}")
    return pairs_dataset(sources, targets)


def load_parallel_tsv(path, source_column=0, target_column=1):
    """Reads sentence pairs from two columns of a TSV file (no header).

    Args:
        path: the TSV file; every row must have as many columns as the first.
        source_column: 0-based index of the source column.
        target_column: 0-based index of the target column.

    Returns:
        A `tf.data.Dataset` of `(source, target)` scalar `tf.string` pairs.
        Rows with an empty side (or blank lines) are skipped and counted.

    Raises:
        CorpusError: for rows with the wrong number of columns, too few
            columns for the indices asked for, or an empty or binary file.

    Example:
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "pairs.tsv"
    >>> _ = path.write_text("1\\tHello.\\tHallo.\\n2\\tYes!\\tJa!\\n")
    >>> ds = load_parallel_tsv(path, source_column=1, target_column=2)
    >>> [(s.numpy(), t.numpy()) for s, t in ds]
    [(b'Hello.', b'Hallo.'), (b'Yes!', b'Ja!')]
    """
    all_rows = _read_tsv(path)
    rows = [row for row in all_rows if row is not None]
    blank = len(all_rows) - len(rows)
    width = len(rows[0])
    if max(source_column, target_column) >= width:
        asked = f"columns {source_column} and {target_column} were asked for"
        raise _error(path, None, f"{width} columns, but {asked}")
    if blank:
        logger.warning("skipped %d blank lines in %s", blank, path)
    sources = [row[source_column].strip() for row in rows]
    targets = [row[target_column].strip() for row in rows]
    return pairs_dataset(*_keep_complete_pairs(sources, targets, str(path)))


def read_documents(paths, split_sentences=False):
    """Reads documents as Python lists of sentences (see `load_documents`)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    documents, empty = [], 0
    for path in paths:
        document = []
        # A trailing "" closes the file's last document: documents end at file ends.
        for line in read_lines(path) + [""]:
            if line:
                document.extend(_split_into_sentences(line) if split_sentences else [line])
            elif document:
                documents.append(document)
                document = []
            else:
                empty += 1  # a blank line after a blank line: an empty document
    if empty:
        logger.info(
            "dropped %d empty documents (repeated blank lines) in %s",
            empty, ", ".join(map(str, paths)),
        )
    return documents


def load_documents(paths, split_sentences=False):
    """Reads documents in the format of google-research/bert's pretraining data.

    One sentence per line and a blank line between documents
    (`create_pretraining_data.py`'s input). A document never spans two files.

    Args:
        paths: a path or a list of paths.
        split_sentences: whether lines hold running text to be cut into
            sentences with `split_sentences` (e.g. one paragraph per line).

    Returns:
        A `tf.data.Dataset` with one element per document, a 1-D `tf.string`
        tensor of its sentences. Empty documents (repeated blank lines) are
        dropped and counted in the log.

    Raises:
        CorpusError: when a file is missing, empty or binary.

    Example:
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "docs.txt"
    >>> _ = path.write_text("It rained. We stayed in.\\n\\nDr. No smiled.\\n")
    >>> [d.numpy().tolist() for d in load_documents(path, split_sentences=True)]
    [[b'It rained.', b'We stayed in.'], [b'Dr. No smiled.']]
    """
    return documents_dataset(read_documents(paths, split_sentences))


def _sort_labels(labels):
    """Sorts label names, numerically when all of them are integers."""
    if all(re.fullmatch(r"-?\d+", label) for label in labels):
        return tuple(sorted(labels, key=int))
    return tuple(sorted(labels))


def _glue_columns(path, text_columns, label_column):
    """Reads a GLUE TSV and finds its columns by header name.

    Returns:
        `(text_columns, rows, header_line, text_indices, label_index)`.
    """
    if isinstance(text_columns, str):
        text_columns = (text_columns,)
    if len(text_columns) not in (1, 2):
        raise ValueError(f"Expected one or two text columns, got {text_columns!r}.")
    all_rows = _read_tsv(path)
    header_line = next(i for i, row in enumerate(all_rows, start=1) if row is not None)
    header = [name.strip() for name in all_rows[header_line - 1]]
    missing = [name for name in (*text_columns, label_column) if name not in header]
    if missing:
        raise _error(
            path, header_line, f"missing column(s) {', '.join(map(repr, missing))}; the header has "
            f"{', '.join(map(repr, header))}"
        )
    text_indices = [header.index(name) for name in text_columns]
    return text_columns, all_rows, header_line, text_indices, header.index(label_column)


def load_classification_tsv(
    path, text_columns=("sentence",), label_column="label", label_names=None
):
    """Reads a GLUE-style TSV file: a header row, then one example per row.

    Args:
        path: the TSV file.
        text_columns: header names of the one or two text columns (a single
            sentence, or a sentence pair as in MRPC or MNLI).
        label_column: header name of the label column.
        label_names: the labels in index order. When given, any other label
            in the file is an error; when `None`, they are the labels found,
            sorted (numerically when all are integers).

    Returns:
        `ClassificationData`. Rows with an empty text are skipped and counted.

    Raises:
        CorpusError: for a missing header column, rows with the wrong number
            of columns, unknown labels, or an empty or binary file.

    Example:
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "train.tsv"
    >>> _ = path.write_text("sentence\\tlabel\\nfun film\\t1\\ndull\\t0\\n")
    >>> data = load_classification_tsv(path)
    >>> data.label_names, [(t[0].numpy(), int(l)) for t, l in data.dataset]
    (('0', '1'), [(b'fun film', 1), (b'dull', 0)])
    """
    text_columns, all_rows, header_line, text_indices, label_index = _glue_columns(
        path, text_columns, label_column
    )
    texts, labels, skipped = [[] for _ in text_columns], [], 0
    known = None if label_names is None else {name: i for i, name in enumerate(label_names)}
    for line_number, row in enumerate(all_rows[header_line:], start=header_line + 1):
        if row is None:
            skipped += 1
            continue
        label = row[label_index].strip()
        if known is not None and label not in known:
            expected = f"expected one of {tuple(label_names)}"
            raise _error(path, line_number, f"unknown label {label!r}; {expected}")
        fields = [row[i].strip() for i in text_indices]
        if not all(fields):
            skipped += 1
            continue
        for column, field in zip(texts, fields):
            column.append(field)
        labels.append(label)
    if skipped:
        logger.warning("skipped %d rows that are blank or have an empty text in %s", skipped, path)
    if not labels:
        raise _error(path, None, "no examples after the header")
    if label_names is None:
        label_names = _sort_labels(set(labels))
        known = {name: i for i, name in enumerate(label_names)}
    return classification_data(tuple(texts), [known[label] for label in labels], label_names)


def load_regression_tsv(path, text_columns=("sentence1", "sentence2"), label_column="score"):
    """Reads a GLUE-style TSV file with a real-valued label, such as STS-B.

    Args:
        path: the TSV file: a header row, then one example per row.
        text_columns: header names of the one or two text columns.
        label_column: header name of the score column.

    Returns:
        A `tf.data.Dataset` of `(texts, score)`: `texts` a tuple of one or
        two scalar `tf.string`s, `score` a float32 scalar. Rows with an
        empty text are skipped and counted.

    Raises:
        CorpusError: for a missing header column, rows with the wrong number
            of columns, a score that is not a finite number, or an empty or
            binary file.

    Example:
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "dev.tsv"
    >>> _ = path.write_text("sentence1\\tsentence2\\tscore\\nA cat.\\tA cat.\\t5.000\\n")
    >>> [(a.numpy(), b.numpy(), float(s)) for (a, b), s in load_regression_tsv(path)]
    [(b'A cat.', b'A cat.', 5.0)]
    """
    text_columns, all_rows, header_line, text_indices, label_index = _glue_columns(
        path, text_columns, label_column
    )
    texts, scores, skipped = [[] for _ in text_columns], [], 0
    for line_number, row in enumerate(all_rows[header_line:], start=header_line + 1):
        if row is None:
            skipped += 1
            continue
        try:
            score = float(row[label_index])
        except ValueError:
            score = math.nan
        if not math.isfinite(score):
            message = f"score {row[label_index].strip()!r} is not a finite number"
            raise _error(path, line_number, message)
        fields = [row[i].strip() for i in text_indices]
        if not all(fields):
            skipped += 1
            continue
        for column, field in zip(texts, fields):
            column.append(field)
        scores.append(score)
    if skipped:
        logger.warning("skipped %d rows that are blank or have an empty text in %s", skipped, path)
    if not scores:
        raise _error(path, None, "no examples after the header")
    columns = tuple(tf.constant(column, tf.string) for column in texts)
    return tf.data.Dataset.from_tensor_slices((columns, tf.constant(scores, tf.float32)))


# ------------------------------------------------------ token tagging (CoNLL)


@dataclasses.dataclass(frozen=True)
class TaggingData:
    """Sentences with one tag per word, as in CoNLL-2003 named entities.

    Attributes:
        sentences: list of sentences, each a list of words (str).
        tags: list of the same shape: each word's tag, an int index into
            `label_names`.
        label_names: tuple of str, the name of each tag index.
    """

    sentences: list
    tags: list
    label_names: tuple

    @property
    def num_classes(self):
        return len(self.label_names)

    def tag_names(self, tags=None):
        """Tag indices (by default `self.tags`) as lists of tag names."""
        tags = self.tags if tags is None else tags
        return [[self.label_names[t] for t in sentence] for sentence in tags]


def load_conll(path, word_column=0, tag_column=-1, label_names=None):
    """Reads a CoNLL-style token file: one word per line, a blank line
    between sentences.

    Columns are separated by whitespace (CoNLL-2003 has word, part of
    speech, chunk and entity tag). Lines whose first field is `-DOCSTART-`
    mark document boundaries and are skipped.

    Args:
        path: the file.
        word_column: 0-based index of the word column.
        tag_column: index of the tag column (negative counts from the end).
        label_names: the tags in index order. When given, any other tag is an
            error; when `None`, they are the tags found, sorted, with `"O"`
            first when present.

    Returns:
        `TaggingData`.

    Raises:
        CorpusError: for a row whose number of columns differs from the
            first row's or is too small for the columns asked for, an
            unknown tag, no sentence at all, or an empty or binary file.

    Example:
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "train.txt"
    >>> _ = path.write_text("-DOCSTART- -X- O\\n\\nEU NNP B-ORG\\nrejects VBZ O\\n")
    >>> data = load_conll(path)
    >>> data.sentences, data.tags, data.label_names
    ([['EU', 'rejects']], [[1, 0]], ('O', 'B-ORG'))
    """
    needed = max(word_column + 1, tag_column + 1 if tag_column >= 0 else -tag_column)
    sentences, tag_names, sentence, width = [], [], [], None
    for line_number, line in enumerate(_decode_lines(path) + [""], start=1):
        fields = line.split()
        if fields and fields[0] == "-DOCSTART-":
            fields = []  # a document boundary also ends the sentence
        if not fields:
            if sentence:
                sentences.append([word for word, _, _ in sentence])
                tag_names.append(sentence)
                sentence = []
            continue
        if width is None:
            width, first_line = len(fields), line_number
            if width < needed:
                raise _error(
                    path, line_number, f"{width} columns, but columns {word_column} (word) and "
                    f"{tag_column} (tag) were asked for"
                )
        elif len(fields) != width:
            message = f"{len(fields)} columns, expected {width} like line {first_line}"
            raise _error(path, line_number, message)
        sentence.append((fields[word_column], fields[tag_column], line_number))
    if not sentences:
        raise _error(path, None, "no sentences (only blank and -DOCSTART- lines)")

    found = {tag for sentence in tag_names for _, tag, _ in sentence}
    if label_names is None:
        label_names = ("O",) * ("O" in found) + tuple(sorted(found - {"O"}))
    label_names = tuple(label_names)
    index = {name: i for i, name in enumerate(label_names)}
    tags = []
    for sentence in tag_names:
        for _, tag, line_number in sentence:
            if tag not in index:
                raise _error(path, line_number, f"unknown tag {tag!r}; expected one of {label_names}")
        tags.append([index[tag] for _, tag, _ in sentence])
    return TaggingData(sentences, tags, label_names)


# ------------------------------------------------------ question answering


@dataclasses.dataclass(frozen=True)
class SquadExample:
    """A SQuAD question with its context paragraph and reference answers.

    Attributes:
        id: the question id.
        title: the title of the article.
        question: the question.
        context: the paragraph that holds the answer.
        answers: tuple of `(text, answer_start)`, `answer_start` a character
            (code point) index into `context`; `context[answer_start:
            answer_start + len(text)] == text`. One in the training set,
            usually three (from different annotators) in the dev set.
    """

    id: str
    title: str
    question: str
    context: str
    answers: tuple

    @property
    def answer_texts(self):
        return [text for text, _ in self.answers]


def _expect(path, where, value, key, kind):
    """`value[key]`, checked to be of type `kind`, else a CorpusError."""
    if not isinstance(value, dict) or key not in value:
        raise _error(path, None, f"{where}: missing key {key!r}")
    found = value[key]
    if not isinstance(found, kind) or isinstance(found, bool):  # JSON's true is no number
        raise _error(path, None, f"{where}.{key}: expected {kind.__name__}, got {type(found).__name__}")
    return found


def load_squad(path):
    """Reads a SQuAD v1.1 JSON file into a list of `SquadExample`.

    Every answer is checked: `answer_start` must lie in the context and
    the context must hold the answer's text exactly there.

    Args:
        path: a file in the format of `train-v1.1.json` / `dev-v1.1.json`.

    Returns:
        A list of `SquadExample`, in file order.

    Raises:
        CorpusError: for invalid UTF-8 or JSON (naming the line and column),
            a missing key or a value of the wrong type (naming where, e.g.
            `data[0].paragraphs[2].qas[1]`), a question without answers or
            marked impossible (SQuAD 2.0), an answer that is not where
            `answer_start` says, or a repeated id (naming the question id).

    Example:
    >>> import json, tempfile
    >>> path = Path(tempfile.mkdtemp()) / "dev.json"
    >>> qa = {"id": "q1", "question": "Who sang?",
    ...       "answers": [{"text": "The Beatles", "answer_start": 0}]}
    >>> article = {"title": "Music", "paragraphs": [
    ...     {"context": "The Beatles sang.", "qas": [qa]}]}
    >>> _ = path.write_text(json.dumps({"version": "1.1", "data": [article]}))
    >>> load_squad(path)[0].answers
    (('The Beatles', 0),)
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CorpusError(f"{path}: cannot read ({error.strerror or error})") from error
    try:
        root = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        line_number = data[: error.start].count(b"\n") + 1
        raise _error(path, line_number, "invalid UTF-8; expected a JSON text") from None
    except json.JSONDecodeError as error:
        message = f"invalid JSON: {error.msg} (column {error.colno})"
        raise _error(path, error.lineno, message) from None

    examples, seen = [], set()
    for i, article in enumerate(_expect(path, "the top level", root, "data", list)):
        where = f"data[{i}]"
        title = _expect(path, where, article, "title", str)
        for j, paragraph in enumerate(_expect(path, where, article, "paragraphs", list)):
            where = f"data[{i}].paragraphs[{j}]"
            context = _expect(path, where, paragraph, "context", str)
            for k, qa in enumerate(_expect(path, where, paragraph, "qas", list)):
                where = f"data[{i}].paragraphs[{j}].qas[{k}]"
                qid = _expect(path, where, qa, "id", str)
                question = _expect(path, where, qa, "question", str)
                name = f"{where} (question id {qid!r})"
                if qa.get("is_impossible"):
                    problem = "unanswerable (SQuAD 2.0) questions are not supported"
                    raise _error(path, None, f"{name}: {problem}")
                if qid in seen:
                    raise _error(path, None, f"{name}: the id is used twice")
                seen.add(qid)
                answers = []
                for n, answer in enumerate(_expect(path, name, qa, "answers", list)):
                    text = _expect(path, f"{name}.answers[{n}]", answer, "text", str)
                    start = _expect(path, f"{name}.answers[{n}]", answer, "answer_start", int)
                    if not text or not 0 <= start <= len(context) - len(text):
                        problem = (
                            f"answer {text!r} at {start} does not fit in the context of "
                            f"{len(context)} characters"
                        )
                        raise _error(path, None, f"{name}: {problem}")
                    found = context[start : start + len(text)]
                    if found != text:
                        problem = f"the context has {found!r} at {start}, not the answer {text!r}"
                        raise _error(path, None, f"{name}: {problem}")
                    answers.append((text, start))
                if not answers:
                    raise _error(path, None, f"{name}: no answers (SQuAD v1.1 has at least one)")
                for field, value in (("context", context), ("question", question)):
                    try:
                        value.encode("utf-8")
                    except UnicodeEncodeError:
                        problem = f"the {field} is not valid Unicode (a lone surrogate?)"
                        raise _error(path, None, f"{name}: {problem}") from None
                examples.append(SquadExample(qid, title, question, context, tuple(answers)))
    if not examples:
        raise _error(path, None, "no questions")
    return examples


# --------------------------------------------------------- R lazy-load data

# R's lazy-load data bases ("<name>.rdx" + "<name>.rdb", R's
# src/main/serialize.c and makeLazyLoadDB): the .rdx file is an ordinary
# gzip-compressed RDS file holding list(variables = list(<name> = c(offset,
# length)), references = ..., compressed = ...). Each object is stored in the
# .rdb at that offset: a 4-byte big-endian uncompressed length, then
#   compressed == 1 (TRUE): a zlib stream;
#   compressed 2 or 3: a type byte and the data: '1' zlib, '2' bzip2,
#   'Z' a raw LZMA2 stream (xz preset 6, R's choice), '0' stored as is.
# The decompressed bytes are an RDS stream that `rdata` parses.
_R_LZMA_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 6}]


def _r_decompress(blob, compressed):
    if not compressed:
        return blob
    (length,) = struct.unpack(">I", blob[:4])
    if compressed == 1:
        data = zlib.decompress(blob[4:])
    else:
        kind, payload = blob[4:5], blob[5:]
        if kind == b"Z":
            decompressor = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=_R_LZMA_FILTERS)
            data = decompressor.decompress(payload)
        elif kind == b"2":
            data = bz2.decompress(payload)
        elif kind == b"1":
            data = zlib.decompress(payload)
        elif kind == b"0":
            data = payload
        else:
            raise CorpusError(f"unknown R compression type {kind!r}")
    if len(data) != length:
        raise CorpusError(f"R object decompressed to {len(data)} bytes, expected {length}")
    return data


def _r_convert(parsed):
    import rdata  # imported here: it brings pandas, which only R data needs

    # Tibbles are data frames to Python; naming them avoids rdata's warnings.
    dataframe = rdata.conversion.DEFAULT_CLASS_MAP["data.frame"]
    constructors = {**rdata.conversion.DEFAULT_CLASS_MAP, "tbl_df": dataframe, "tbl": dataframe}
    return rdata.conversion.convert(parsed, constructors)


def read_r_lazyload(path, name=None):
    """Reads objects from an R lazy-load data base (`<path>.rdx` and `<path>.rdb`).

    R packages store their data sets this way (`data/Rdata.rdx` and
    `data/Rdata.rdb`); the `rdata` package reads RDS streams but not the
    data base around them, which this function unpacks.

    Args:
        path: the common path of the two files, without extension, e.g.
            `.../site-library/janeaustenr/data/Rdata`.
        name: the object to read; `None` lists the names instead.

    Returns:
        The object converted by `rdata` (character vectors become NumPy
        string arrays, data frames and tibbles pandas `DataFrame`s, factors
        pandas `Categorical`s), or a sorted list of names when `name` is None.

    Raises:
        CorpusError: when the files are missing or `name` is not in them.

    Example:
    >>> read_r_lazyload("/usr/lib/R/site-library/janeaustenr/data/Rdata")  # doctest: +SKIP
    ['emma', 'mansfieldpark', 'northangerabbey', 'persuasion', 'prideprejudice', 'sensesensibility']
    """
    import rdata

    path = Path(path)
    index_path, data_path = path.with_name(path.name + ".rdx"), path.with_name(path.name + ".rdb")
    try:
        index = _r_convert(rdata.parser.parse_data(index_path.read_bytes(), extension=".rds"))
    except OSError as error:
        raise CorpusError(f"{index_path}: cannot read ({error.strerror or error})") from error
    variables = {str(key): value for key, value in index["variables"].items()}
    if name is None:
        return sorted(variables)
    if name not in variables:
        names = ", ".join(sorted(variables))
        raise CorpusError(f"{index_path}: no object {name!r}; it holds {names}")
    offset, length = (int(value) for value in variables[name])
    with open(data_path, "rb") as file:
        file.seek(offset)
        blob = file.read(length)
    compressed = int(index["compressed"][0]) if "compressed" in index else 1
    return _r_convert(rdata.parser.parse_data(_r_decompress(blob, compressed), extension=".rds"))
