"""Debian-shipped corpora: fetching a package, the Ding (dictd) parser and
gettext catalogues. The integration tests fetch dict-de-en and the software
packages with apt-get into a temporary cache."""

import gzip
import logging
import shutil

import pytest

from tf_models.data import debian, downloads, sources
from tf_models.data.records import CorpusError


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(downloads.CACHE_ENVIRONMENT_VARIABLE, str(tmp_path / "cache"))
    return tmp_path / "cache"


# ------------------------------------------------------------- Ding parser


def dictd_number(value):
    digits = ""
    while True:
        digits = debian._DICTD_BASE64[value % 64] + digits
        value //= 64
        if not value:
            return digits


def write_dictd(folder, entries):
    """Writes a dictd dictionary of (headword, notes, english) like Debian's dict-de-en."""
    data, index = b"", []
    for headword, notes, english in entries:
        text = f"{headword}\n{notes}\n   {english}\n".encode()
        normalized = "".join(c for c in headword.lower() if c.isalnum() or c.isspace())
        offset, length = dictd_number(len(data)), dictd_number(len(text))
        index.append(f"{' '.join(normalized.split())}\t{offset}\t{length}")
        data += text
    with gzip.open(folder / "german-english.dict.dz", "wb") as file:
        file.write(data)
    # The index is sorted by headword, not by position in the dictionary.
    (folder / "german-english.index").write_text("\n".join(sorted(index)) + "\n", encoding="utf-8")
    return folder / "german-english.dict.dz", folder / "german-english.index"


DING_ENTRIES = [
    ("Hund", " {m}", "dog"),
    ("Das ist ein starkes Stück!", " [ugs.]", "That’s pretty steep!"),
    ("Es regnet in Strömen.", "", "It’s pouring.; It is raining heavily. [Br.]"),
    ("Dieses Wort kommt/stammt aus dem Lateinischen.", "", "This word comes from Latin."),
    ("Es fehlt an etw.", "", "There is a lack of sth."),
    ("Wie weit ist … gediehen?", "", "How far has … progressed?"),
    ("Reg dich nicht so auf!", "", "Don’t get (yourself) so worked up!"),
    # Long entries wrap without indentation.
    ("Es war ein richtig schöner Tag, der nur durch einen kleinen Streit auf\n"
     "dem Heimweg getrübt wurde.",
     "", "It was a really nice day, marred only by a little argument on the way\nhome."),
    ("Kann in Gewässern längerfristig schädliche Wirkungen haben.", "",
     "May cause long-term adverse effects in the aquatic environment. (hazard note)"),
    ("Das ist ein starkes Stück!", " [ugs.]", "That’s pretty steep!"),
    ("Nichts zu danken!", "", "Not at all! (response to thanks)"),
]


def test_extract_ding_pairs(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="tf_models.data.debian"):
        pairs = debian.extract_ding_pairs(*write_dictd(tmp_path, DING_ENTRIES))
    assert pairs == [
        ("Das ist ein starkes Stück!", "That’s pretty steep!"),
        ("Es regnet in Strömen.", "It is raining heavily."),
        ("Es war ein richtig schöner Tag, der nur durch einen kleinen Streit auf dem Heimweg "
         "getrübt wurde.",
         "It was a really nice day, marred only by a little argument on the way home."),
        ("Kann in Gewässern längerfristig schädliche Wirkungen haben.",
         "May cause long-term adverse effects in the aquatic environment."),
        ("Nichts zu danken!", "Not at all!"),
    ]
    assert "kept 5 sentence pairs" in caplog.text
    assert "4 (alternatives, optional parts, gaps or placeholders)" in caplog.text
    assert "1 (the English is not a sentence)" in caplog.text  # "It’s pouring."
    assert "1 (duplicates)" in caplog.text


# ------------------------------------------------------- software messages


def write_catalogue(path, entries):
    """A German .mo catalogue of `(msgid, msgstr)` or `(msgid, plural, msgstr)` entries."""
    import polib

    catalogue = polib.POFile()
    catalogue.metadata = {"Content-Type": "text/plain; charset=UTF-8"}
    for entry in entries:
        if len(entry) == 3:
            catalogue.append(polib.POEntry(msgid=entry[0], msgid_plural=entry[1],
                                           msgstr_plural={0: entry[2], 1: entry[2]}))
        else:
            catalogue.append(polib.POEntry(msgid=entry[0], msgstr=entry[1]))
    path.parent.mkdir(parents=True, exist_ok=True)
    catalogue.save_as_mofile(str(path))
    return path


def test_software_message_pairs(tmp_path, caplog):
    first = write_catalogue(tmp_path / "a.mo", [
        ("_Save As", "Speichern _unter"),                       # accelerators removed
        ("~Open the  file", "Datei ~öffnen"),                   # LibreOffice's, whitespace folded
        ("Could not open %s", "Konnte %s nicht öffnen"),        # a placeholder
        ("Show <b>bold</b> text", "<b>Fett</b> zeigen"),        # markup
        ("--verbose print more", "--verbose mehr ausgeben"),    # a command-line option
        ("%d file", "%d files", "%d Dateien"),                   # plural forms
        ("Cancel", "Abbrechen"),                                # one word
        ("Print Preview", "Print Preview"),                     # untranslated
        ("Untranslated message", ""),
        ("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen",
         "zu lang"),
    ])
    second = write_catalogue(tmp_path / "b.mo", [("Save As", "Sichern als"), ("Close Window", "Fenster schließen")])
    broken = tmp_path / "broken.mo"
    broken.write_bytes(b"not a catalogue")
    with caplog.at_level(logging.INFO, logger="tf_models.data.debian"):
        pairs = debian.software_message_pairs([first, broken, second])
    # The first catalogue's translation of an English message wins (a .mo
    # file stores its entries sorted by msgid).
    assert sorted(pairs) == [("Close Window", "Fenster schließen"), ("Open the file", "Datei öffnen"),
                             ("Save As", "Speichern unter")]
    assert "skipped unreadable catalogue" in caplog.text and "kept 3 pairs" in caplog.text
    assert ("Cancel", "Abbrechen") in debian.software_message_pairs([first], min_words=1)


def test_chinese_catalogues_lose_their_bracketed_accelerators(tmp_path):
    catalogue = write_catalogue(tmp_path / "zh_CN.mo", [
        ("_Open File", "打开文件(_O)"),            # GTK's accelerator, in brackets after the word
        ("Save ~As", "另存为（~A）"),               # LibreOffice's, full-width brackets
        ("Print Preview", "Print Preview"),       # untranslated
        ("Show (all) rows", "显示（所有）行"),      # brackets that are not an accelerator stay
        ("Hex digits", "十六进制(_#)"),
    ])
    assert sorted(debian.software_message_pairs([catalogue])) == [
        ("Hex digits", "十六进制"), ("Open File", "打开文件"), ("Save As", "另存为"), ("Show (all) rows", "显示（所有）行")]


def test_software_catalogues_leave_out_name_lists(cache):
    tree = cache / "debian" / "some-program"
    write_catalogue(tree / "usr/share/locale/de/LC_MESSAGES/program.mo", [("Save As", "Speichern unter")])
    write_catalogue(tree / "usr/share/locale/de/LC_MESSAGES/program-timezones.mo", [("New York", "New York")])
    write_catalogue(tree / "usr/share/locale/fr/LC_MESSAGES/program.mo", [("Save As", "Enregistrer sous")])
    write_catalogue(tree / "usr/share/locale/zh_CN/LC_MESSAGES/program.mo", [("Save As", "另存为")])
    assert [p.name for p in debian.software_catalogues(["some-program"])] == ["program.mo"]
    assert [p.parts[-3] for p in debian.software_catalogues(["some-program"], "zh_CN")] == ["zh_CN"]
    with pytest.raises(CorpusError, match="no 'es' catalogues"):
        debian.software_catalogues(["some-program"], language="es")


# --------------------------------------------------------- Debian packages


def test_debian_package_reuses_the_unpacked_tree(cache, monkeypatch):
    (cache / "debian" / "dict-de-en" / "usr").mkdir(parents=True)

    def no_subprocess(*args, **kwargs):
        raise AssertionError("the cached package was fetched again")

    monkeypatch.setattr(debian.subprocess, "run", no_subprocess)
    assert debian.debian_package("dict-de-en") == cache / "debian" / "dict-de-en"


def test_debian_package_without_apt(cache, monkeypatch):
    monkeypatch.setattr(debian.shutil, "which", lambda tool: None)
    with pytest.raises(CorpusError, match="apt-get not found.*your own files"):
        debian.debian_package("dict-de-en")


@pytest.mark.skipif(shutil.which("apt-get") is None, reason="needs apt-get")
def test_debian_package_that_apt_cannot_download(cache):
    message = r"(?s)apt-get download tf-models-no-such-package.*apt-get update"
    with pytest.raises(CorpusError, match=message):
        debian.debian_package("tf-models-no-such-package")
    assert list((cache / "debian").iterdir()) == []  # no half-unpacked state left behind


# Integration: the real packages, fetched with apt-get into a temporary cache
# once per test session (the `with_debian_cache` fixture of conftest.py).


def test_ding_de_en(with_debian_cache):
    pairs = sources.ding_de_en()
    assert all(isinstance(german, str) and isinstance(english, str) for german, english in pairs)
    # dict-de-en 1.9-6 (Ding devel 2023-01-30) gives 18,707 pairs.
    assert 17_500 <= len(pairs) <= 20_000
    assert len(set(pairs)) == len(pairs)
    example = ("Von der Vermissten fehlt jede Spur.", "There is no trace of the missing woman.")
    assert example in pairs
    for german, english in pairs:
        assert german[-1] in ".!?\"'’”“" and english[-1] in ".!?\"'’”“"
        assert not any(mark in german + english for mark in "/{}[]()…")
    reversed_pairs = sources.ding_de_en(reverse=True)[:10]
    assert reversed_pairs == [(english, german) for german, english in pairs[:10]]


def test_software_de_en(with_debian_cache):
    pairs = sources.software_de_en()
    # Debian 12's packages give about 41,000 pairs (the main job's run: benchmarks/results/demo_cpu.json).
    assert 35_000 <= len(pairs) <= 50_000
    english = [e for _, e in pairs]
    assert len(set(english)) == len(english)
    assert ("Datei öffnen", "Open File") in pairs or ("Datei öffnen", "Open file") in pairs
    for german, english in pairs[:2000]:
        assert german != english and 2 <= len(english.split()) <= 15
        assert not any(mark in german + english for mark in "%{}<>")


# ------------------------------------------------- package descriptions (apt's index)

PACKAGES = """\
Package: 2048
Source: 2048-game (1.0-2)
Section: games
Description: Slide and add equal number tiles
Description-md5: aaa

Package: gnumeric
Section: universe/math
Description: spreadsheet application
Description-md5: bbb

Package: gnumeric-common
Source: gnumeric
Section: math
Description: spreadsheet application
Description-md5: bbb

Package: tiny-tool
Section: utils
Description: a tool with its long description inline
 It does one thing.

Package: no-long-text
Section: misc
Description: only a summary
Description-md5: ccc
"""

TRANSLATION = """\
Package: 2048
Description-md5: aaa
Description-en: Slide and add equal number tiles
 2048 is a puzzle game. Slide the tiles
 on a grid.
 .
 Reach the 2048 tile to win.

Package: gnumeric
Description-md5: bbb
Description-en: spreadsheet application
 Gnumeric is a spreadsheet.
"""


def test_package_descriptions_join_the_index_and_its_english_texts(tmp_path):
    (tmp_path / "mirror_dists_stable_main_binary-amd64_Packages").write_text(PACKAGES)
    (tmp_path / "mirror_dists_stable_main_i18n_Translation-en").write_text(TRANSLATION)
    (tmp_path / "mirror_dists_stable_InRelease").write_text("Origin: Debian\n")  # not an index: ignored
    records = debian.read_package_descriptions(tmp_path)
    assert [r.package for r in records] == ["2048", "gnumeric", "tiny-tool"]  # one per text, a long one each
    game, spreadsheet, tool = records
    assert (game.source, game.section, game.summary) == ("2048-game", "games", "Slide and add equal number tiles")
    assert game.paragraphs == ("2048 is a puzzle game. Slide the tiles on a grid.", "Reach the 2048 tile to win.")
    assert game.text == ("Slide and add equal number tiles. 2048 is a puzzle game. Slide the tiles on a grid. "
                         "Reach the 2048 tile to win.")
    assert spreadsheet.section == "math"  # Ubuntu's component prefix dropped
    assert tool.paragraphs == ("It does one thing.",)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CorpusError, match="no package descriptions"):
        debian.read_package_descriptions(empty)


def test_package_split_keeps_a_source_on_one_side_in_the_stated_shares():
    sources_ = [f"source-{i}" for i in range(20_000)]
    splits = [debian.package_split(source) for source in sources_]
    shares = {split: splits.count(split) / len(splits) for split in ("train", "validation", "test")}
    assert abs(shares["train"] - 0.7) < 0.02 and abs(shares["validation"] - 0.1) < 0.02
    assert abs(shares["test"] - 0.2) < 0.02
    assert splits == [debian.package_split(source) for source in sources_]


def test_apt_package_index_reuses_the_cached_lists(cache, monkeypatch):
    (cache / "apt-index" / "lists").mkdir(parents=True)

    def no_subprocess(*args, **kwargs):
        raise AssertionError("the cached index was fetched again")

    monkeypatch.setattr(debian.subprocess, "run", no_subprocess)
    assert debian.apt_package_index() == cache / "apt-index" / "lists"
    monkeypatch.setattr(debian.shutil, "which", lambda tool: None)
    (cache / "apt-index" / "lists").rmdir()
    with pytest.raises(CorpusError, match="apt-get not found"):
        debian.apt_package_index()


@pytest.mark.skipif(shutil.which("apt-get") is None, reason="needs apt-get")
def test_debian_descriptions_and_sections_from_the_real_index(with_debian_cache):
    documents = sources.debian_descriptions()
    # Debian bookworm main: 61,000 distinct descriptions, 32,500 in the training split.
    assert len(documents) > 20_000 and all(document and all(document) for document in documents[:1000])
    data = {split: sources.debian_sections(split) for split in sources.DEBIAN_SPLITS}
    assert data["train"].label_names == sources.DEBIAN_TOPIC_SECTIONS
    assert len(data["train"]) > 3 * len(data["validation"]) > 0 and len(data["test"]) > len(data["validation"])
    assert set(data["test"].labels) == set(range(len(sources.DEBIAN_TOPIC_SECTIONS)))
    # What pretraining reads shares no paragraph with a validation or test
    # description (sentences, such as "This package contains the
    # documentation.", recur everywhere).
    paragraphs = {split: {p for r in sources.package_descriptions(split) for p in r.paragraphs}
                  for split in sources.DEBIAN_SPLITS}
    assert not paragraphs["train"] & (paragraphs["validation"] | paragraphs["test"])
    assert not paragraphs["validation"] & paragraphs["test"]
    assert len(documents) == len(sources.package_descriptions("train"))


def test_software_zh_en(with_debian_cache):
    pairs = sources.software_zh_en()
    # The same packages, with libreoffice-l10n-zh-cn, give 39,157 pairs in Debian 12.
    assert 33_000 <= len(pairs) <= 46_000
    assert ("水平滚动条", "Horizontal scroll bar") in pairs
    for chinese, english in pairs[:2000]:
        assert sources._HAN.search(chinese) and 2 <= len(english.split()) <= 15
        assert not any(mark in chinese for mark in "_~&%{}<>")  # no accelerators or placeholders


@pytest.mark.skipif(shutil.which("apt-get") is None, reason="needs apt-get")
def test_debian_word_classes_tag_wordnets_unambiguous_words_and_skip_the_rest(with_debian_cache):
    from tf_models.data.tagging import IGNORED_LABEL
    from tf_models.data.word_classes import WORD_CLASSES, word_class, wordnet_lexicon

    wordnet_lexicon.cache_clear()  # read from this test's cache
    lexicon = wordnet_lexicon()
    # WordNet 3.0: 57,506 single-word nouns, 8,700 verbs, 20,983 adjectives, 3,767 adverbs.
    sizes = {part: len(lemmas) for part, (lemmas, _) in lexicon.items()}
    assert sizes["noun"] > 50_000 and sizes["verb"] > 8_000 and sizes["adj"] > 20_000 and sizes["adv"] > 3_000
    expected = {"libraries": "NOUN", "mice": "NOUN", "quickly": "ADV", "graphical": "ADJ", "provides": "VERB",
                "free": None, "file": None, "gtk": None, "the": "FUNC", "2": "NUM", "(": "PUNCT"}
    assert {word: word_class(word, lexicon) for word in expected} == expected
    train, test = sources.debian_word_classes("train"), sources.debian_word_classes("test")
    assert train.label_names == WORD_CLASSES and len(train.sentences) > 2 * len(test.sentences) > 5_000
    tags = [tag for sentence in test.tags for tag in sentence]
    ignored = tags.count(IGNORED_LABEL) / len(tags)
    assert 0.2 < ignored < 0.45 and set(tags) == {IGNORED_LABEL, *range(len(WORD_CLASSES))}
    # The test sentences are text the pretraining never read.
    pretraining = {sentence.lower() for document in sources.debian_descriptions("train") for sentence in document}
    assert not any(" ".join(words) in pretraining for words in test.sentences[:500])
    wordnet_lexicon.cache_clear()
