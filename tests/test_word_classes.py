"""Word classes from WordNet: the lexicon files, the rules, the tagged sentences."""

import pytest

from tf_models.data.tagging import IGNORED_LABEL
from tf_models.data.word_classes import WORD_CLASSES, word_class, word_class_sentences, wordnet_lexicon


@pytest.fixture
def lexicon(tmp_path):
    """A WordNet folder in the real files' format: a licence line that starts
    with a space, one lemma per line, "_" joining collocations."""
    entries = {"noun": ["library", "mouse", "file", "game", "ice_cream"], "verb": ["file", "provide", "run"],
               "adj": ["graphical", "big"], "adv": ["quickly"]}
    for part, lemmas in entries.items():
        lines = ["  1 This software and database is being provided"]
        lines += [f"{lemma} {part[0]} 1 0 1 0 00000001" for lemma in lemmas]
        (tmp_path / f"index.{part}").write_text("\n".join(lines) + "\n")
        (tmp_path / f"{part}.exc").write_text({"noun": "mice mouse\n", "verb": "ran run\n", "adj": "bigger big\n"}.get(part, ""))
    wordnet_lexicon.cache_clear()
    yield wordnet_lexicon(str(tmp_path))
    wordnet_lexicon.cache_clear()


def test_the_lexicon_reads_lemmas_and_irregular_forms(lexicon):
    lemmas, exceptions = lexicon["noun"]
    assert lemmas == {"library", "mouse", "file", "game"}  # no licence line, no collocation
    assert exceptions == {"mice": ("mouse",)}


@pytest.mark.parametrize("word, expected", [
    ("libraries", "NOUN"),  # -ies -> -y
    ("mice", "NOUN"),  # an irregular form
    ("provides", "VERB"), ("providing", "VERB"), ("ran", "VERB"),
    ("bigger", "ADJ"), ("graphical", "ADJ"), ("quickly", "ADV"),
    ("file", None), ("files", None),  # a noun and a verb: no single class
    ("gtk", None),  # not in WordNet
    ("the", "FUNC"), ("with", "FUNC"), ("2024", "NUM"), ("(", "PUNCT"),
])
def test_a_word_gets_its_one_class_or_none(lexicon, word, expected):
    assert word_class(word, lexicon) == expected


def test_sentences_are_cut_into_lower_case_words_and_unclassed_words_are_ignored(lexicon):
    words, tags = word_class_sentences(["The mice ran to 2 libraries (quickly).", "Too short.",
                                        "GTK files for the game"], lexicon)
    assert words == [["the", "mice", "ran", "to", "2", "libraries", "(", "quickly", ")", "."],
                     ["gtk", "files", "for", "the", "game"]]
    names = [[WORD_CLASSES[t] if t != IGNORED_LABEL else None for t in sentence] for sentence in tags]
    assert names == [["FUNC", "NOUN", "VERB", "FUNC", "NUM", "NOUN", "PUNCT", "ADV", "PUNCT", "PUNCT"],
                     [None, None, "FUNC", "FUNC", "NOUN"]]
