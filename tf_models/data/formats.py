"""Text corpora on disk, read into `tf.data.Dataset`s in three shapes.

The rest of the package consumes exactly these element formats:

* **sentence pairs** (translation): `(source, target)`, two scalar `tf.string`s;
* **documents** (BERT pretraining): one document per element, a 1-D
  `tf.string` tensor of its sentences;
* **labelled text** (classification): `ClassificationData`, whose dataset
  yields `(texts, label)` with `texts` a tuple of one or two scalar
  `tf.string`s and `label` an int32 index into `label_names`.

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
import logging
import lzma
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
    label_index = header.index(label_column)

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
