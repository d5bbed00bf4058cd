import shutil

import numpy as np
import pytest
import tensorflow as tf

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


def test_trained_vocabulary_starts_with_reserved_tokens(wordpiece):
    assert tuple(wordpiece.vocabulary[:7]) == TRANSLATION_RESERVED_TOKENS
    assert (wordpiece.pad_id, wordpiece.cls_id, wordpiece.mask_id, wordpiece.end_id) == (0, 2, 4, 6)
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
