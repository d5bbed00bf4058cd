import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text as tf_text

from tf_models.data.tokenizers import (
    BERT_RESERVED_TOKENS,
    TRANSLATION_RESERVED_TOKENS,
    WordPieceTokenizer,
    train_sentencepiece_tokenizer,
    train_wordpiece_tokenizer,
)

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "A man is riding a horse on the beach!",
    "Two children are playing football in the park, while their parents watch.",
    "Is the café open on Sundays? Yes, it opens at nine.",
    "She doesn't like green apples; he prefers red ones.",
    "Die Katze sitzt auf der Matte und schläft.",
    "東京は日本の首都です。",
    "Emoji are fun 😀 and so are numbers like 3.14 and 42.",
] * 20

HARD_INPUTS = [
    "",
    "   \t\n ",
    "word " * 2000,
    "Ünïcödé àccents and façade",
    "中文字符和日本語",
    "emoji 🚀🔥 in text",
    "punctuation!!! (brackets) [square] {curly} $5 100%",
]


# Learned from CORPUS, unlike conftest.py's `tokenizer` (a given word list):
# this module tests the learners themselves.
@pytest.fixture(scope="module")
def wordpiece(tmp_path_factory):
    texts = tf.data.Dataset.from_tensor_slices(CORPUS)
    path = tmp_path_factory.mktemp("wordpiece") / "vocab.txt"
    return train_wordpiece_tokenizer(
        texts, 300, path, reserved_tokens=TRANSLATION_RESERVED_TOKENS
    )


@pytest.fixture(scope="module")
def sentencepiece(tmp_path_factory):
    texts = tf.data.Dataset.from_tensor_slices(CORPUS)
    path = tmp_path_factory.mktemp("sentencepiece") / "sp.model"
    return train_sentencepiece_tokenizer(texts, 120, path)


@pytest.mark.parametrize("learner", ["fast", "tensorflow_text"])
def test_both_learners_give_usable_vocabularies(learner, tmp_path):
    texts = tf.data.Dataset.from_tensor_slices(CORPUS)
    tokenizer = train_wordpiece_tokenizer(texts, 200, tmp_path / "vocab.txt", learner=learner)
    assert tokenizer.vocabulary[:5] == list(BERT_RESERVED_TOKENS)
    assert any(token.startswith("##") for token in tokenizer.vocabulary)
    ids = tokenizer.tokenize(["The quick brown fox."]).to_list()[0]
    assert tokenizer.unk_id not in ids
    assert tokenizer.detokenize([ids]).numpy()[0] == b"the quick brown fox."


def test_the_fast_learner_gives_one_vocabulary_in_every_process(tmp_path):
    """The Hugging Face trainer numbers pieces in hash-map order, which
    changes between processes (huggingface/tokenizers#1794); the vocabulary
    must not. Text full of equally frequent pieces, learned in fresh
    processes, limited to fewer characters than it has."""
    rng = np.random.default_rng(0)
    letters = list("abcdefghijklmnopqrstuvwxyzäöüß東京日本")
    texts = [" ".join("".join(rng.choice(letters, rng.integers(2, 7))) for _ in range(8)) for _ in range(400)]
    (tmp_path / "texts.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    script = ("import sys; from tf_models.data.tokenizers import train_wordpiece_vocabulary; "
              "texts = open(sys.argv[1], encoding='utf-8').read().splitlines(); "
              "print('\\n'.join(train_wordpiece_vocabulary(texts, 400, max_characters=25)))")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    vocabularies = [subprocess.run([sys.executable, "-c", script, str(tmp_path / "texts.txt")], env=env,
                                   capture_output=True, text=True, check=True).stdout for _ in range(3)]
    assert vocabularies[0] == vocabularies[1] == vocabularies[2]
    vocabulary = vocabularies[0].splitlines()
    assert len(vocabulary) == 400 and vocabulary[:5] == list(BERT_RESERVED_TOKENS)
    single = {token.removeprefix("##") for token in vocabulary if len(token.removeprefix("##")) == 1}
    assert len(single) == 25  # the 25 commonest characters, the others [UNK]


def test_trained_vocabulary_starts_with_reserved_tokens(wordpiece):
    assert tuple(wordpiece.vocabulary[:7]) == TRANSLATION_RESERVED_TOKENS
    assert (wordpiece.padding_id, wordpiece.cls_id, wordpiece.mask_id, wordpiece.end_id) == (0, 2, 4, 6)
    assert 100 < wordpiece.vocabulary_size <= 400
    assert len(set(wordpiece.vocabulary)) == wordpiece.vocabulary_size


def test_wordpiece_round_trip_recovers_normalised_text(wordpiece):
    sentences = ["the quick brown fox jumps over the lazy dog.", "is the cafe open on sundays?"]
    ids = wordpiece.tokenize(["The quick brown fox jumps over the lazy dog.", "Is the café open on Sundays?"])
    assert ids.dtype == tf.int32
    assert [s.decode() for s in wordpiece.detokenize(ids).numpy()] == sentences


def test_wordpiece_splits_cjk_into_characters(wordpiece):
    ids = wordpiece.tokenize(["東京"]).to_list()[0]
    assert [wordpiece.id_to_token(i) for i in ids] == ["東", "京"]


# Chinese as the software catalogues write it: no spaces between words,
# full-width punctuation, an ideographic space (U+3000), Latin words between.
CHINESE = ["打开文件，用 TLS 连接。", "无法删除工作表！", "另存为：文档（副本）", "搜索\u3000替换", "第２页"]


@pytest.mark.parametrize("lower_case", [False, True])
def test_the_learner_learns_the_words_the_graph_makes(lower_case, tmp_path):
    """The vocabulary is learned from the words the in-graph tokenizer cuts.
    With the trainer's own BERT normaliser it was not: "，" was learned
    where the lower-cased graph asks for "," (NFKC), and U+3000 parted words
    for the trainer but not for the graph; each was an [UNK] at serving."""
    tokenizer = train_wordpiece_tokenizer(CHINESE * 5, 200, tmp_path / "vocab.txt", lower_case=lower_case)
    ids = tokenizer.tokenize(CHINESE + ["替换文档"])  # the last: known characters, a new word
    assert tokenizer.unk_id not in ids.flat_values.numpy()
    assert [tokenizer.id_to_token(i) for i in ids[1].numpy()] == list("无法删除工作表" + ("!" if lower_case else "！"))
    if not lower_case:  # Chinese reads back without spaces between characters
        assert tokenizer.detokenize(ids[:2]).numpy().tolist() == [s.encode() for s in CHINESE[:2]]


def test_japanese_reads_back_without_spaces(wordpiece):
    ids = wordpiece.tokenize(["東京は日本の首都。"])  # (lower-casing strips the voicing marks of "です")
    assert wordpiece.detokenize(ids).numpy()[0].decode() == "東京は日本の首都。"


@pytest.mark.parametrize("kind", ["wordpiece", "sentencepiece"])
def test_hard_inputs_do_not_crash(kind, request):
    tokenizer = request.getfixturevalue(kind)
    inputs = tf.constant(HARD_INPUTS + [b"invalid \xff\xfe utf-8"])
    ids = tokenizer.tokenize(inputs)
    lengths = ids.row_lengths().numpy()
    assert lengths[0] == 0 and lengths[1] == 0  # empty and whitespace-only
    assert lengths[2] >= 2000  # nothing is truncated by the tokenizer
    assert np.all(ids.flat_values.numpy() < tokenizer.vocabulary_size)
    text = tokenizer.detokenize(ids).numpy()
    assert len(text) == len(HARD_INPUTS) + 1
    assert "invalid" in text[-1].decode("utf-8")  # decodable: bad bytes were replaced


def test_detokenize_drops_reserved_tokens_and_padding(wordpiece):
    ids = wordpiece.tokenize(["a man is riding a horse"]).to_tensor()
    framed = tf.concat([[[wordpiece.start_id]], ids, [[wordpiece.end_id, 0, 0]]], axis=1)
    assert wordpiece.detokenize(framed).numpy()[0] == b"a man is riding a horse"


def test_sentencepiece_round_trip_is_exact(sentencepiece):
    assert sentencepiece.vocabulary[:2] == ["[PAD]", "[UNK]"]
    assert sentencepiece.end_id == 6
    text = ["The quick brown fox jumps over the lazy dog."]
    assert sentencepiece.detokenize(sentencepiece.tokenize(text)).numpy()[0].decode() == text[0]


def test_vocabulary_file_round_trip(wordpiece, tmp_path):
    path = wordpiece.save_vocabulary(tmp_path / "copy.txt")
    reloaded = WordPieceTokenizer(path)
    batch = ["Two children are playing football."]
    assert reloaded.tokenize(batch).to_list() == wordpiece.tokenize(batch).to_list()


def test_tokenizer_travels_inside_a_saved_model(wordpiece, tmp_path):
    source = tmp_path / "vocab.txt"
    tokenizer = WordPieceTokenizer(wordpiece.save_vocabulary(source), lower_case=True)
    module = tf.Module()
    module.tokenizer = tokenizer
    module.tokenize = tf.function(
        lambda s: tokenizer.tokenize(s).to_tensor(), input_signature=[tf.TensorSpec([None], tf.string)]
    )
    tf.saved_model.save(module, str(tmp_path / "export"))
    source.unlink()  # the SavedModel must carry its own copy
    shutil.move(str(tmp_path / "export"), str(tmp_path / "moved"))
    reloaded = tf.saved_model.load(str(tmp_path / "moved"))
    batch = tf.constant(["A man is riding a horse."])
    np.testing.assert_array_equal(reloaded.tokenize(batch), wordpiece.tokenize(batch).to_tensor())


def test_vocabulary_needs_pad_first(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("[UNK]\n[PAD]\nthe\n")
    with pytest.raises(ValueError, match=r"Id 0 must be \[PAD\]"):
        WordPieceTokenizer(path)
    assert BERT_RESERVED_TOKENS[0] == "[PAD]"


# --- tokenize_with_offsets ---------------------------------------------------

OFFSET_INPUTS = CORPUS[:8] + HARD_INPUTS[:2] + HARD_INPUTS[3:] + [
    "CAFÉ Müller's STRAẞE: ﬁne İstanbul",
    "decomposed e\u0301 and a\u0308 accents",
    "zero\u200bwidth soft\u00adhyphen \u2060joiner emoji 👍🏽 ❤️ tab\tand\x07bell",
    "Hangul 한국어 and jamo \u1112\u1161\u11ab",
    "\u0301leading mark",
]


def _normalized(strings, lower_case):
    """BertTokenizer's normalisation, applied by tensorflow-text's own ops."""
    strings = tf.constant(strings)
    if lower_case:
        strings = tf_text.normalize_utf8(tf_text.case_fold_utf8(strings), "NFD")
        strings = tf.strings.regex_replace(strings, r"\p{Mn}", "")
    return tf.strings.regex_replace(strings, r"\p{Cc}|\p{Cf}", " ").numpy()


@pytest.mark.parametrize("lower_case", [True, False])
def test_offsets_are_byte_spans_of_the_original_text(wordpiece, lower_case, tmp_path):
    tokenizer = WordPieceTokenizer(wordpiece.save_vocabulary(tmp_path / "vocab.txt"), lower_case)
    ids, begin, end = tokenizer.tokenize_with_offsets(OFFSET_INPUTS)
    assert ids.to_list() == tokenizer.tokenize(OFFSET_INPUTS).to_list()
    assert ids.dtype == tf.int32 and begin.dtype == end.dtype == tf.int64
    checked = 0
    for text, row_ids, row_begin, row_end in zip(OFFSET_INPUTS, ids.to_list(), begin.to_list(), end.to_list()):
        data = text.encode()
        assert all(0 <= b < e <= len(data) for b, e in zip(row_begin, row_end))
        assert row_begin == sorted(row_begin) and row_end == sorted(row_end)
        spans = [data[b:e].decode() for b, e in zip(row_begin, row_end)]  # whole characters
        pieces = [tokenizer.id_to_token(i).removeprefix("##") for i in row_ids]
        # Each span, normalised as the tokenizer does, reads as its piece,
        # except where a character normalising to several ("ẞ" is "ss", "ﬁ"
        # is "fi") is split between pieces: each of them gets all of it.
        normalized = _normalized(spans, lower_case) if spans else []
        for piece, span_normalized in zip(pieces, normalized):
            span_normalized = span_normalized.decode().strip()
            if piece != "[UNK]":
                assert piece in span_normalized, (text, piece, spans)
                checked += span_normalized == piece
    assert checked > 50


def test_offsets_keep_case_accents_and_odd_characters(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(["[PAD]", "[UNK]", "cafe", "muller", "strasse", "fi", "##ne", "ab", "e", "!"]) + "\n")
    tokenizer = WordPieceTokenizer(path)
    text = "CAFÉ Mu\u0308ller! STRAẞE ﬁne a\u200bb e\u0301"
    ids, begin, end = tokenizer.tokenize_with_offsets(text)  # a scalar: one row
    data = text.encode()
    spans = [data[b:e].decode() for b, e in zip(begin.numpy(), end.numpy())]
    assert [tokenizer.id_to_token(i) for i in ids.numpy()] == [
        "cafe", "muller", "!", "strasse", "fi", "##ne", "ab", "e"]
    # A combining mark after a word's last letter belongs to the word.
    assert spans == ["CAFÉ", "Mu\u0308ller", "!", "STRAẞE", "ﬁ", "ne", "a\u200bb", "e\u0301"]


def test_offsets_of_invalid_utf8_cover_the_bad_bytes(wordpiece):
    strings = tf.constant([b"cat \xff\xfe dog", b"", b"\xc3"])
    ids, begin, end = wordpiece.tokenize_with_offsets(strings)
    assert ids.to_list() == wordpiece.tokenize(strings).to_list()
    unknown = ids.to_list()[0].index(wordpiece.unk_id)
    assert (begin.to_list()[0][unknown], end.to_list()[0][unknown]) == (4, 6)
    assert begin.to_list()[1:] == [[], [0]] and end.to_list()[2] == [1]


@pytest.mark.parametrize("lower_case", [True, False])
def test_offsets_agree_with_tokenize_on_every_code_point(wordpiece, lower_case, tmp_path):
    # Characters normalised one by one must give what whole strings give
    # (neighbours included: jamo compose, marks reorder) and normalising
    # twice must change nothing; runs of 48 consecutive code points test both.
    tokenizer = WordPieceTokenizer(wordpiece.save_vocabulary(tmp_path / "vocab.txt"), lower_case)
    code_points = [c for c in range(0x30000) if not 0xD800 <= c < 0xE000]
    strings = ["".join(map(chr, code_points[i : i + 48])) for i in range(0, len(code_points), 48)]
    ids, begin, end = tokenizer.tokenize_with_offsets(strings)
    expected = tokenizer.tokenize(strings)
    np.testing.assert_array_equal(ids.row_splits, expected.row_splits)
    np.testing.assert_array_equal(ids.flat_values, expected.flat_values)
    assert np.all(begin.flat_values < end.flat_values)


def test_character_tokenizer_round_trips_any_text(tmp_path):
    from tf_models.data import CharacterTokenizer, train_character_tokenizer

    texts = ["It is a truth universally acknowledged,\nthat a man", "Grüße! 🙂 tabs\tand  spaces"]
    tokenizer = train_character_tokenizer(texts, tmp_path / "characters.json")
    assert tokenizer.vocabulary[:3] == ["[PAD]", "[UNK]", "[END]"] and tokenizer.vocabulary[3] == " "
    ids = tokenizer.tokenize(texts)
    assert ids.to_list()[0][:2] == [tokenizer.token_to_id("I"), tokenizer.token_to_id("t")]
    assert [t.decode() for t in tokenizer.detokenize(ids).numpy()] == texts  # newlines, emoji, tabs kept
    # Reloaded from its file, and inside a graph, it is the same tokenizer.
    reloaded = CharacterTokenizer(tmp_path / "characters.json")
    graph = tf.function(lambda strings: reloaded.tokenize(strings).to_tensor())
    np.testing.assert_array_equal(graph(tf.constant(texts)), ids.to_tensor())
    # Unknown characters and invalid UTF-8 are [UNK], which detokenizing drops.
    unknown = tokenizer.tokenize(tf.constant([b"x\xff", b""])).to_list()
    assert unknown == [[tokenizer.unk_id, tokenizer.unk_id], []]
    few = train_character_tokenizer(texts, tmp_path / "few.json", max_characters=5)
    assert few.vocabulary_size == 8 and few.vocabulary[3] == " "
