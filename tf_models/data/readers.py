"""Readers of corpus files: text, TSV, CoNLL and SQuAD, into the records of
`tf_models.data.records`.

Every reader validates what it reads. A bad file raises `CorpusError`, whose
message names the file and the 1-based line: a file that is empty or looks
binary, rows with the wrong number of columns, a missing header column, an
unknown label, parallel files of different lengths. What a reader skips on
purpose (an empty side of a pair, an empty document) is counted and logged,
never dropped silently.

Files are read whole into memory, which suits corpora up to a few hundred
megabytes; lines are stripped of surrounding whitespace and a UTF-8 byte-order
mark. TSV files are split on tabs with no quoting, as GLUE's are.
"""

import json
import logging
import math
import re
from pathlib import Path

from tf_models.data.records import ClassificationData, CorpusError, RegressionData, SquadExample, TaggingData
from tf_models.data.sentences import split_sentences as _split_into_sentences

logger = logging.getLogger(__name__)

# ------------------------------------------------------------- reading text


def _error(path, line_number, message):
    where = f"{path}, line {line_number}" if line_number else f"{path}"
    return CorpusError(f"{where}: {message}")


def _read_bytes(path):
    """The bytes of the file at `path` (a `Path`); a CorpusError if it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as error:
        raise CorpusError(f"{path}: cannot read ({error.strerror or error})") from error


def _decode_lines(path):
    """The lines of a UTF-8 file, unstripped except for line endings and a BOM."""
    path = Path(path)
    data = _read_bytes(path)
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


# ------------------------------------------------------------ file formats


def _keep_complete_pairs(sources, targets, description):
    """Drops pairs with an empty side, counting them."""
    pairs = [(s, t) for s, t in zip(sources, targets) if s and t]
    skipped = len(sources) - len(pairs)
    if skipped:
        logger.warning("skipped %d pairs with an empty side in %s", skipped, description)
    if not pairs:
        raise CorpusError(f"{description}: no pair has two non-empty sides")
    return pairs


def load_parallel_files(source_path, target_path):
    """Reads two line-aligned text files (line i of one translates line i of the other).

    Args:
        source_path: file of source sentences, one per line.
        target_path: file of target sentences, one per line.

    Returns:
        A list of `(source, target)` string pairs. Pairs with an empty side
        are skipped and counted in the log.

    Raises:
        CorpusError: when the files differ in line count, or either is
            empty or binary.

    Example:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.en").write_text("Hello.\\nThanks!\\n")
    >>> _ = (folder / "a.de").write_text("Hallo.\\nDanke!\\n")
    >>> load_parallel_files(folder / "a.en", folder / "a.de")
    [('Hello.', 'Hallo.'), ('Thanks!', 'Danke!')]
    """
    sources, targets = read_lines(source_path), read_lines(target_path)
    if len(sources) != len(targets):
        raise CorpusError(
            f"parallel files differ in length: {source_path} has {len(sources)} lines, "
            f"{target_path} has {len(targets)}"
        )
    return _keep_complete_pairs(sources, targets, f"{source_path} and {target_path}")


def load_parallel_tsv(path, source_column=0, target_column=1):
    """Reads sentence pairs from two columns of a TSV file (no header).

    Args:
        path: the TSV file; every row must have as many columns as the first.
        source_column: 0-based index of the source column.
        target_column: 0-based index of the target column.

    Returns:
        A list of `(source, target)` string pairs. Rows with an empty side
        (or blank lines) are skipped and counted.

    Raises:
        CorpusError: for rows with the wrong number of columns, too few
            columns for the indices asked for, or an empty or binary file.

    Example:
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "pairs.tsv"
    >>> _ = path.write_text("1\\tHello.\\tHallo.\\n2\\tYes!\\tJa!\\n")
    >>> load_parallel_tsv(path, source_column=1, target_column=2)
    [('Hello.', 'Hallo.'), ('Yes!', 'Ja!')]
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
    return _keep_complete_pairs(sources, targets, str(path))


def load_documents(paths, split_sentences=False):
    """Reads documents in the format of google-research/bert's pretraining data.

    One sentence per line and a blank line between documents
    (`create_pretraining_data.py`'s input). A document never spans two files.

    Args:
        paths: a path or a list of paths.
        split_sentences: whether lines hold running text to be cut into
            sentences with `split_sentences` (e.g. one paragraph per line).

    Returns:
        A list of documents, each a list of its sentences. Empty documents
        (repeated blank lines) are dropped and counted in the log.

    Raises:
        CorpusError: when a file is missing, empty or binary.

    Example:
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "docs.txt"
    >>> _ = path.write_text("It rained. We stayed in.\\n\\nDr. No smiled.\\n")
    >>> load_documents(path, split_sentences=True)
    [['It rained.', 'We stayed in.'], ['Dr. No smiled.']]
    """
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


def _sort_labels(labels):
    """Sorts label names, numerically when all of them are integers."""
    if all(re.fullmatch(r"-?\d+", label) for label in labels):
        return tuple(sorted(labels, key=int))
    return tuple(sorted(labels))


def _read_glue_tsv(path, text_columns, label_column, parse_label):
    """Reads a GLUE-style TSV, finding its columns by header name.

    Args:
        path: the TSV file.
        text_columns: one or two header names (a string is one).
        label_column: the header name of the label.
        parse_label: `parse_label(text, line_number)` -> the label, or raises
            `CorpusError` for a bad one.

    Returns:
        `(texts, labels)`: a tuple of text columns (lists of str) and a list
        of the parsed labels. Rows with an empty text are skipped and counted.
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
    text_indices, label_index = [header.index(name) for name in text_columns], header.index(label_column)
    texts, labels, skipped = tuple([] for _ in text_columns), [], 0
    for line_number, row in enumerate(all_rows[header_line:], start=header_line + 1):
        if row is None:
            skipped += 1
            continue
        label = parse_label(row[label_index].strip(), line_number)
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
    return texts, labels


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
    >>> data.label_names, data.texts, data.labels
    (('0', '1'), (('fun film', 'dull'),), (1, 0))
    """
    known = None if label_names is None else {name: i for i, name in enumerate(label_names)}

    def parse_label(label, line_number):
        if known is not None and label not in known:
            raise _error(path, line_number, f"unknown label {label!r}; expected one of {tuple(label_names)}")
        return label

    texts, labels = _read_glue_tsv(path, text_columns, label_column, parse_label)
    if label_names is None:
        label_names = _sort_labels(set(labels))
        known = {name: i for i, name in enumerate(label_names)}
    return ClassificationData.from_lists(texts, [known[label] for label in labels], label_names)


def load_regression_tsv(path, text_columns=("sentence1", "sentence2"), label_column="score"):
    """Reads a GLUE-style TSV file with a real-valued label, such as STS-B.

    Args:
        path: the TSV file: a header row, then one example per row.
        text_columns: header names of the one or two text columns.
        label_column: header name of the score column.

    Returns:
        `RegressionData`. Rows with an empty text are skipped and counted.

    Raises:
        CorpusError: for a missing header column, rows with the wrong number
            of columns, a score that is not a finite number, or an empty or
            binary file.

    Example:
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "dev.tsv"
    >>> _ = path.write_text("sentence1\\tsentence2\\tscore\\nA cat.\\tA cat.\\t5.000\\n")
    >>> data = load_regression_tsv(path)
    >>> data.texts, data.labels
    ((('A cat.',), ('A cat.',)), (5.0,))
    """

    def parse_score(text, line_number):
        try:
            score = float(text)
        except ValueError:
            score = math.nan
        if not math.isfinite(score):
            raise _error(path, line_number, f"score {text!r} is not a finite number")
        return score

    return RegressionData.from_lists(*_read_glue_tsv(path, text_columns, label_column, parse_score))


# ------------------------------------------------------ token tagging (CoNLL)


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
    tagged = _read_conll_sentences(path, word_column, tag_column)
    found = {tag for sentence in tagged for _, tag, _ in sentence}
    if label_names is None:
        label_names = ("O",) * ("O" in found) + tuple(sorted(found - {"O"}))
    label_names = tuple(label_names)
    index = {name: i for i, name in enumerate(label_names)}
    tags = []
    for sentence in tagged:
        for _, tag, line_number in sentence:
            if tag not in index:
                raise _error(path, line_number, f"unknown tag {tag!r}; expected one of {label_names}")
        tags.append([index[tag] for _, tag, _ in sentence])
    sentences = [[word for word, _, _ in sentence] for sentence in tagged]
    return TaggingData(sentences, tags, label_names)


def _read_conll_sentences(path, word_column, tag_column):
    """The sentences of a CoNLL file, each a list of `(word, tag,
    line_number)`; checks that every row has as many columns as the first."""
    needed = max(word_column + 1, tag_column + 1 if tag_column >= 0 else -tag_column)
    sentences, sentence, width = [], [], None
    for line_number, line in enumerate(_decode_lines(path) + [""], start=1):
        fields = line.split()
        if fields and fields[0] == "-DOCSTART-":
            fields = []  # a document boundary also ends the sentence
        if not fields:
            if sentence:
                sentences.append(sentence)
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
    return sentences


# ------------------------------------------------------ question answering


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
    root = _read_json(path)
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
                answers = _squad_answers(path, name, qa, context)
                for field, value in (("context", context), ("question", question)):
                    try:
                        value.encode("utf-8")
                    except UnicodeEncodeError:
                        problem = f"the {field} is not valid Unicode (a lone surrogate?)"
                        raise _error(path, None, f"{name}: {problem}") from None
                examples.append(SquadExample(qid, title, question, context, answers))
    if not examples:
        raise _error(path, None, "no questions")
    return examples


def _read_json(path):
    """The JSON text in the file at `path`, parsed; a CorpusError names the
    line of invalid UTF-8 or JSON."""
    data = _read_bytes(path)
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        line_number = data[: error.start].count(b"\n") + 1
        raise _error(path, line_number, "invalid UTF-8; expected a JSON text") from None
    except json.JSONDecodeError as error:
        message = f"invalid JSON: {error.msg} (column {error.colno})"
        raise _error(path, error.lineno, message) from None


def _squad_answers(path, name, qa, context):
    """The `(text, answer_start)` answers of the question `qa` (`name` in
    errors), each checked to stand in `context` where it says."""
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
    return tuple(answers)
