"""Readers: the records they return, and one test per bad-file error."""

import dataclasses
import json
import logging

import pytest

from tf_models.data.readers import (
    load_classification_tsv,
    load_conll,
    load_documents,
    load_parallel_files,
    load_parallel_tsv,
    load_regression_tsv,
    load_squad,
    read_lines,
)
from tf_models.data.records import ClassificationData, CorpusError, RegressionData, TaggingData


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------ plain lines


def test_read_lines_strips_bom_crlf_and_whitespace(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"\xef\xbb\xbf first \r\nsecond\r\n\r\nthird")
    assert read_lines(path) == ["first", "second", "", "third"]


def test_missing_file_is_named(tmp_path):
    with pytest.raises(CorpusError, match="nope.txt: cannot read"):
        read_lines(tmp_path / "nope.txt")


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "empty.en"
    path.write_bytes(content)
    with pytest.raises(CorpusError, match=r"empty\.en: empty file"):
        read_lines(path)


def test_binary_file_with_nul_bytes(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"text\nmore text\n\x00\x01\x02\x03\n")
    with pytest.raises(CorpusError, match=r"model\.bin, line 3: looks binary \(NUL byte\)"):
        load_parallel_files(path, path)


def test_binary_file_with_invalid_utf8(tmp_path):
    path = tmp_path / "latin1.de"
    path.write_bytes("Grüße\n".encode("utf-8") + "Schöne Grüße\n".encode("latin-1"))
    message = r"latin1\.de, line 2: looks binary \(invalid UTF-8 at byte 3 of the line\)"
    with pytest.raises(CorpusError, match=message):
        load_documents(path)


# ---------------------------------------------------------------- pairs


def test_parallel_files(tmp_path):
    source = write(tmp_path / "train.en", "A dog runs.\nTwo cats sleep.\n")
    target = write(tmp_path / "train.de", "Ein Hund rennt.\nZwei Katzen schlafen.\n")
    assert load_parallel_files(source, target) == [
        ("A dog runs.", "Ein Hund rennt."),
        ("Two cats sleep.", "Zwei Katzen schlafen."),
    ]


def test_parallel_files_skip_and_count_empty_sides(tmp_path, caplog):
    source = write(tmp_path / "train.en", "One.\n\nThree.\nFour.\n")
    target = write(tmp_path / "train.de", "Eins.\nZwei.\n\nVier.\n")
    with caplog.at_level(logging.WARNING, logger="tf_models.data.readers"):
        pairs = load_parallel_files(source, target)
    assert pairs == [("One.", "Eins."), ("Four.", "Vier.")]
    assert "skipped 2 pairs with an empty side" in caplog.text
    assert "train.en" in caplog.text and "train.de" in caplog.text


def test_parallel_files_with_different_line_counts(tmp_path):
    source = write(tmp_path / "train.en", "One.\nTwo.\nThree.\n")
    target = write(tmp_path / "train.de", "Eins.\nZwei.\n")
    with pytest.raises(CorpusError, match=r"train\.en has 3 lines, .*train\.de has 2"):
        load_parallel_files(source, target)


def test_parallel_tsv(tmp_path, caplog):
    path = write(tmp_path / "pairs.tsv", "1\tHello.\tHallo.\n\n2\tYes!\tJa!\n3\t\tLeer.\n")
    with caplog.at_level(logging.WARNING, logger="tf_models.data.readers"):
        pairs = load_parallel_tsv(path, source_column=2, target_column=1)
    assert pairs == [("Hallo.", "Hello."), ("Ja!", "Yes!")]
    assert "skipped 1 blank lines" in caplog.text
    assert "skipped 1 pairs with an empty side" in caplog.text


def test_parallel_tsv_row_with_wrong_column_count(tmp_path):
    path = write(tmp_path / "pairs.tsv", "Hello.\tHallo.\nYes!\tJa!\nA\ttab\tinside\n")
    with pytest.raises(CorpusError, match=r"pairs\.tsv, line 3: 3 columns, expected 2"):
        load_parallel_tsv(path)


def test_parallel_tsv_too_few_columns_for_the_indices(tmp_path):
    path = write(tmp_path / "pairs.tsv", "Hello.\tHallo.\n")
    with pytest.raises(CorpusError, match=r"pairs\.tsv: 2 columns, but columns 0 and 2"):
        load_parallel_tsv(path, target_column=2)


# ------------------------------------------------------------ documents


def test_documents_in_bert_pretraining_format(tmp_path, caplog):
    first = write(
        tmp_path / "a.txt", "Doc one, sentence one.\nDoc one, sentence two.\n\n\n\nDoc two.\n"
    )
    second = write(tmp_path / "b.txt", "\nDoc three.\nStill three.")
    with caplog.at_level(logging.INFO, logger="tf_models.data.readers"):
        documents = load_documents([first, second])
    assert documents == [
        ["Doc one, sentence one.", "Doc one, sentence two."],
        ["Doc two."],
        ["Doc three.", "Still three."],  # documents end at the end of a file
    ]
    # Two extra blank lines in a.txt, a leading one in b.txt.
    assert "dropped 3 empty documents" in caplog.text


def test_documents_with_sentence_splitting(tmp_path):
    path = write(tmp_path / "novel.txt", "Mr. Darcy bowed. She smiled! Did he see?\n\nThe end.\n")
    assert load_documents(path, split_sentences=True) == [["Mr. Darcy bowed.", "She smiled!", "Did he see?"], ["The end."]]


# -------------------------------------------------------- classification


def test_classification_single_sentence(tmp_path):
    path = write(tmp_path / "train.tsv", "label\tsentence\n1\ta gem .\n0\tdull\n10\tweird\n")
    data = load_classification_tsv(path)
    assert isinstance(data, ClassificationData)
    assert data.label_names == ("0", "1", "10")  # numeric labels sort as numbers
    assert data.texts == (("a gem .", "dull", "weird"),) and data.labels == (1, 0, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.label_names = ()


def test_classification_sentence_pair_with_explicit_labels(tmp_path, caplog):
    path = write(
        tmp_path / "dev.tsv",
        "id\tpremise\thypothesis\tgold\n"
        "1\tA man sleeps.\tA person rests.\tentailment\n"
        "2\tA man sleeps.\t\tneutral\n"
        "3\tA dog barks.\tA cat meows.\tcontradiction\n",
    )
    with caplog.at_level(logging.WARNING, logger="tf_models.data.readers"):
        data = load_classification_tsv(
            path, ("premise", "hypothesis"), "gold",
            label_names=("entailment", "neutral", "contradiction"),
        )
    assert data.label_names == ("entailment", "neutral", "contradiction")
    assert data.num_classes == 3
    assert data.texts == (("A man sleeps.", "A dog barks."), ("A person rests.", "A cat meows."))
    assert data.labels == (0, 2) and len(data) == 2
    assert "skipped 1 rows" in caplog.text


def test_classification_unknown_label(tmp_path):
    path = write(tmp_path / "train.tsv", "sentence\tlabel\ngood\tpositive\nbad\tnegativ\n")
    with pytest.raises(CorpusError, match=r"train\.tsv, line 3: unknown label 'negativ'"):
        load_classification_tsv(path, label_names=("negative", "positive"))


def test_classification_missing_header_column(tmp_path):
    path = write(tmp_path / "dev.tsv", "label\tcontent\n1\tfine\n")
    message = r"dev\.tsv, line 1: missing column\(s\) 'sentence'; .*'content'"
    with pytest.raises(CorpusError, match=message):
        load_classification_tsv(path)


def test_classification_row_with_wrong_column_count(tmp_path):
    path = write(tmp_path / "train.tsv", "sentence\tlabel\ngood\t1\nno label\n")
    with pytest.raises(CorpusError, match=r"train\.tsv, line 3: 1 columns, expected 2"):
        load_classification_tsv(path)


def test_classification_header_only(tmp_path):
    path = write(tmp_path / "train.tsv", "sentence\tlabel\n")
    with pytest.raises(CorpusError, match=r"train\.tsv: no examples"):
        load_classification_tsv(path)


# ------------------------------------------------------- regression (STS-B)


def test_regression_tsv_reads_float_scores(tmp_path, caplog):
    path = write(
        tmp_path / "dev.tsv",
        "index\tsentence1\tsentence2\tscore\n0\tA man.\tA man.\t5.000\n1\tA dog.\t\t1.0\n"
        "2\tA cat.\tA car.\t0.6\n",
    )
    with caplog.at_level(logging.WARNING, logger="tf_models.data.readers"):
        data = load_regression_tsv(path)
    assert isinstance(data, RegressionData)
    assert data.texts == (("A man.", "A cat."), ("A man.", "A car."))
    assert data.labels == (5.0, pytest.approx(0.6))
    assert "skipped 1 rows" in caplog.text


@pytest.mark.parametrize("score", ["high", "nan", ""])
def test_regression_tsv_score_that_is_not_a_number(tmp_path, score):
    path = write(tmp_path / "dev.tsv", f"sentence\tscore\nfine\t1.5\nbad\t{score}\n")
    with pytest.raises(CorpusError, match=r"dev\.tsv, line 3: score .* is not a finite number"):
        load_regression_tsv(path, text_columns="sentence")


def test_regression_tsv_missing_column(tmp_path):
    path = write(tmp_path / "dev.tsv", "sentence1\tsentence2\tlabel\na\tb\t1\n")
    with pytest.raises(CorpusError, match=r"dev\.tsv, line 1: missing column\(s\) 'score'"):
        load_regression_tsv(path)


# ------------------------------------------------------------- CoNLL tags

CONLL = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER


-DOCSTART- -X- -X- O

BRUSSELS NNP B-NP B-LOC
"""


def test_conll_sentences_tags_and_label_order(tmp_path):
    data = load_conll(write(tmp_path / "train.txt", CONLL))
    assert isinstance(data, TaggingData) and dataclasses.is_dataclass(data)
    assert data.sentences == [["EU", "rejects", "German", "call"], ["Peter", "Blackburn"], ["BRUSSELS"]]
    assert data.label_names == ("O", "B-LOC", "B-MISC", "B-ORG", "B-PER", "I-PER")
    assert data.tag_names() == [["B-ORG", "O", "B-MISC", "O"], ["B-PER", "I-PER"], ["B-LOC"]]
    assert data.num_classes == 6
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.label_names = ()


def test_conll_other_columns_and_given_labels(tmp_path):
    path = write(tmp_path / "train.txt", CONLL)
    chunks = load_conll(path, tag_column=2, label_names=["O", "B-NP", "I-NP", "B-VP"])
    assert chunks.tags[0] == [1, 3, 1, 2]
    words = load_conll(path, word_column=1, tag_column=3)
    assert words.sentences[0] == ["NNP", "VBZ", "JJ", "NN"]


def test_conll_unknown_tag_names_its_line(tmp_path):
    path = write(tmp_path / "train.txt", CONLL)
    with pytest.raises(CorpusError, match=r"train\.txt, line 8: unknown tag 'B-PER'"):
        load_conll(path, label_names=["O", "B-ORG", "B-MISC", "I-PER", "B-LOC"])


def test_conll_row_with_a_missing_column(tmp_path):
    path = write(tmp_path / "train.txt", "EU NNP B-NP B-ORG\nrejects VBZ O\n")
    with pytest.raises(CorpusError, match=r"train\.txt, line 2: 3 columns, expected 4 like line 1"):
        load_conll(path)


def test_conll_too_few_columns_for_the_indices(tmp_path):
    path = write(tmp_path / "train.txt", "EU B-ORG\n")
    with pytest.raises(CorpusError, match=r"train\.txt, line 1: 2 columns, but columns 0 .* and 3"):
        load_conll(path, tag_column=3)


def test_conll_without_sentences(tmp_path):
    path = write(tmp_path / "train.txt", "-DOCSTART- -X- O\n\n")
    with pytest.raises(CorpusError, match=r"train\.txt: no sentences"):
        load_conll(path)


# ------------------------------------------------------------------ SQuAD


def squad_json(qas, context="The Beatles formed in Liverpool in 1960.", title="Beatles"):
    return {"version": "1.1", "data": [{"title": title, "paragraphs": [{"context": context, "qas": qas}]}]}


def qa(qid, text, start, question="Q?"):
    return {"id": qid, "question": question, "answers": [{"text": text, "answer_start": start}]}


def write_json(path, value):
    path.write_text(json.dumps(value, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def test_squad_examples(tmp_path):
    context = "Café Müller opened in 1960. It is in Wuppertal."
    dev = qa("q1", "Café Müller", 0, "What opened?")
    dev["answers"].append({"text": "1960", "answer_start": 22})
    path = write_json(tmp_path / "dev.json", squad_json([dev, qa("q2", "Wuppertal", 37)], context))
    examples = load_squad(path)
    assert [example.id for example in examples] == ["q1", "q2"]
    first = examples[0]
    assert (first.title, first.question, first.context) == ("Beatles", "What opened?", context)
    assert first.answers == (("Café Müller", 0), ("1960", 22))
    assert first.answer_texts == ["Café Müller", "1960"]


def test_squad_syntax_error_names_line_and_column(tmp_path):
    path = tmp_path / "train.json"
    path.write_text('{"version": "1.1",\n "data": [\n  {"title": "x",}\n ]}\n')
    with pytest.raises(CorpusError, match=r"train\.json, line 3: invalid JSON: .*\(column \d+\)"):
        load_squad(path)


@pytest.mark.parametrize(
    "answer, message",
    [
        (("Beatles", 0), r"question id 'q7'.*the context has 'The Bea' at 0, not the answer 'Beatles'"),
        (("1960.", 37), r"question id 'q7'.*answer '1960.' at 37 does not fit in the context of 40"),
        (("The", -1), r"question id 'q7'.*does not fit"),
    ],
)
def test_squad_answer_not_where_it_says(tmp_path, answer, message):
    path = write_json(tmp_path / "train.json", squad_json([qa("q6", "The Beatles", 0), qa("q7", *answer)]))
    with pytest.raises(CorpusError, match=r"train\.json: data\[0\]\.paragraphs\[0\]\.qas\[1\] \(" + message):
        load_squad(path)


def test_squad_missing_key_and_wrong_type(tmp_path):
    broken = qa("q1", "The Beatles", 0)
    del broken["question"]
    path = write_json(tmp_path / "a.json", squad_json([broken]))
    with pytest.raises(CorpusError, match=r"a\.json: data\[0\]\.paragraphs\[0\]\.qas\[0\]: missing key 'question'"):
        load_squad(path)
    broken = qa("q1", "The Beatles", "0")
    path = write_json(tmp_path / "b.json", squad_json([broken]))
    with pytest.raises(CorpusError, match=r"answers\[0\]\.answer_start: expected int, got str"):
        load_squad(path)
    with pytest.raises(CorpusError, match=r"c\.json: the top level: missing key 'data'"):
        load_squad(write_json(tmp_path / "c.json", {"version": "1.1"}))


def test_squad_duplicate_ids_and_unanswerable_questions(tmp_path):
    path = write_json(tmp_path / "a.json", squad_json([qa("q1", "The Beatles", 0), qa("q1", "1960", 35)]))
    with pytest.raises(CorpusError, match=r"question id 'q1'\): the id is used twice"):
        load_squad(path)
    impossible = dict(qa("q2", "The Beatles", 0), is_impossible=True)
    with pytest.raises(CorpusError, match=r"SQuAD 2\.0"):
        load_squad(write_json(tmp_path / "b.json", squad_json([impossible])))
    unanswered = dict(qa("q3", "The Beatles", 0), answers=[])
    with pytest.raises(CorpusError, match=r"question id 'q3'\): no answers"):
        load_squad(write_json(tmp_path / "c.json", squad_json([unanswered])))
