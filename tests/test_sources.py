"""Named sources: the Ding parser, Debian fetching, benchmarks, TFDS and the registry.

The integration tests fetch the three Debian packages with apt-get into a
temporary cache (about 33 MB); the benchmark tests read ../shared/data. No
test touches the network otherwise.
"""

import gzip
import io
import logging
import shutil
import sys
import urllib.error
import zipfile
from collections import Counter
from pathlib import Path

import pytest
import tensorflow as tf

from tf_models.data import sources
from tf_models.data.formats import ClassificationData, CorpusError

STRING = tf.TensorSpec([], tf.string)
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def batched_texts(dataset):
    """All string pairs of a pairs dataset (batched: per-element iteration is slow)."""
    pairs = []
    for sources_, targets in dataset.batch(4096):
        pairs += zip([s.decode() for s in sources_.numpy()], [t.decode() for t in targets.numpy()])
    return pairs


def label_counts(data):
    batches = data.dataset.batch(4096)
    return Counter(label for _, labels in batches for label in labels.numpy().tolist())


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(sources.CACHE_ENVIRONMENT_VARIABLE, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_cache_dir_default_and_override(monkeypatch, tmp_path):
    monkeypatch.delenv(sources.CACHE_ENVIRONMENT_VARIABLE, raising=False)
    assert sources.cache_dir() == Path.home() / ".cache" / "tf_models"
    monkeypatch.setenv(sources.CACHE_ENVIRONMENT_VARIABLE, str(tmp_path))
    assert sources.cache_dir() == tmp_path


# ------------------------------------------------------------- Ding parser


def dictd_number(value):
    digits = ""
    while True:
        digits = sources._DICTD_BASE64[value % 64] + digits
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
    with caplog.at_level(logging.INFO, logger="tf_models.data.sources"):
        pairs = sources.extract_ding_pairs(*write_dictd(tmp_path, DING_ENTRIES))
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
    with caplog.at_level(logging.INFO, logger="tf_models.data.sources"):
        pairs = sources.software_message_pairs([first, broken, second])
    # The first catalogue's translation of an English message wins (a .mo
    # file stores its entries sorted by msgid).
    assert sorted(pairs) == [("Close Window", "Fenster schließen"), ("Open the file", "Datei öffnen"),
                             ("Save As", "Speichern unter")]
    assert "skipped unreadable catalogue" in caplog.text and "kept 3 pairs" in caplog.text
    assert ("Cancel", "Abbrechen") in sources.software_message_pairs([first], min_words=1)


def test_software_catalogues_leave_out_name_lists(cache):
    tree = cache / "debian" / "some-program"
    write_catalogue(tree / "usr/share/locale/de/LC_MESSAGES/program.mo", [("Save As", "Speichern unter")])
    write_catalogue(tree / "usr/share/locale/de/LC_MESSAGES/program-timezones.mo", [("New York", "New York")])
    write_catalogue(tree / "usr/share/locale/fr/LC_MESSAGES/program.mo", [("Save As", "Enregistrer sous")])
    assert [p.name for p in sources.software_catalogues(["some-program"])] == ["program.mo"]
    with pytest.raises(CorpusError, match="no 'es' catalogues"):
        sources.software_catalogues(["some-program"], language="es")


def test_austen_chapters():
    lines = [
        "EMMA", "", "By Jane Austen", "", "VOLUME I", "", "CHAPTER I", "",
        "Emma Woodhouse, handsome, clever, and rich, with a", "comfortable home.", "",
        "Mr. Knightley came. He was _very_ cross.", "", "", "VOLUME II", "",
        "Chapter 2.", "", '"Oh!" said Emma. "Yes."', "", "FINIS", "", "A note.",
    ]
    assert sources.austen_chapters(lines, "Emma") == [
        ["Emma Woodhouse, handsome, clever, and rich, with a comfortable home.",
         "Mr. Knightley came.", "He was very cross."],
        ['"Oh!" said Emma.', '"Yes."'],
    ]


# --------------------------------------------------------- Debian packages


def test_debian_package_reuses_the_unpacked_tree(cache, monkeypatch):
    (cache / "debian" / "dict-de-en" / "usr").mkdir(parents=True)

    def no_subprocess(*args, **kwargs):
        raise AssertionError("the cached package was fetched again")

    monkeypatch.setattr(sources.subprocess, "run", no_subprocess)
    assert sources.debian_package("dict-de-en") == cache / "debian" / "dict-de-en"


def test_debian_package_without_apt(cache, monkeypatch):
    monkeypatch.setattr(sources.shutil, "which", lambda tool: None)
    with pytest.raises(CorpusError, match="apt-get not found.*your own files"):
        sources.debian_package("dict-de-en")


@pytest.mark.skipif(shutil.which("apt-get") is None, reason="needs apt-get")
def test_debian_package_that_apt_cannot_download(cache):
    message = r"(?s)apt-get download tf-models-no-such-package.*apt-get update"
    with pytest.raises(CorpusError, match=message):
        sources.debian_package("tf-models-no-such-package")
    assert list((cache / "debian").iterdir()) == []  # no half-unpacked state left behind


# Integration: the real packages, fetched once for this module.


@pytest.fixture(scope="module")
def debian_cache(tmp_path_factory):
    if shutil.which("apt-get") is None:
        pytest.skip("apt-get is not available: the offline corpora come from Debian packages")
    return tmp_path_factory.mktemp("debian_cache")


@pytest.fixture
def with_debian_cache(debian_cache, monkeypatch):
    monkeypatch.setenv(sources.CACHE_ENVIRONMENT_VARIABLE, str(debian_cache))


def test_ding_de_en(with_debian_cache):
    dataset = sources.ding_de_en()
    assert dataset.element_spec == (STRING, STRING)
    pairs = batched_texts(dataset)
    # dict-de-en 1.9-6 (Ding devel 2023-01-30) gives 18,707 pairs.
    assert 17_500 <= len(pairs) <= 20_000
    assert len(set(pairs)) == len(pairs)
    example = ("Von der Vermissten fehlt jede Spur.", "There is no trace of the missing woman.")
    assert example in pairs
    for german, english in pairs:
        assert german[-1] in ".!?\"'’”“" and english[-1] in ".!?\"'’”“"
        assert not any(mark in german + english for mark in "/{}[]()…")
    reversed_pairs = batched_texts(sources.ding_de_en(reverse=True).take(10))
    assert reversed_pairs == [(english, german) for german, english in pairs[:10]]


def test_software_de_en(with_debian_cache):
    pairs = batched_texts(sources.software_de_en())
    # The 15 packages of Debian 12 give 41,143 pairs.
    assert 35_000 <= len(pairs) <= 50_000
    english = [e for _, e in pairs]
    assert len(set(english)) == len(english)
    assert ("Datei öffnen", "Open File") in pairs or ("Datei öffnen", "Open file") in pairs
    for german, english in pairs[:2000]:
        assert german != english and 2 <= len(english.split()) <= 15
        assert not any(mark in german + english for mark in "%{}<>")


def test_software_de_en_directions(monkeypatch):
    monkeypatch.setattr(sources, "software_catalogues", lambda packages, language: ["a.mo"])
    monkeypatch.setattr(sources, "software_message_pairs", lambda catalogues: [("Open File", "Datei öffnen")])
    assert batched_texts(sources.software_de_en()) == [("Datei öffnen", "Open File")]
    assert batched_texts(sources.software_de_en(reverse=True)) == [("Open File", "Datei öffnen")]


def test_jane_austen(with_debian_cache):
    dataset = sources.jane_austen()
    assert dataset.element_spec == tf.TensorSpec([None], tf.string)
    chapters = [[s.decode() for s in chapter.numpy()] for chapter in dataset]
    assert len(chapters) == 269  # 50 + 61 + 48 + 55 + 31 + 24
    # 31,435 sentences with janeaustenr 1.0.0 and this package's splitter.
    assert 30_000 <= sum(map(len, chapters)) <= 33_000
    assert 700_000 <= sum(len(s.split()) for chapter in chapters for s in chapter) <= 730_000
    assert chapters[0][0] == "The family of Dashwood had long been settled in Sussex."
    emma = [[s.numpy() for s in chapter] for chapter in sources.jane_austen(["emma"])]
    assert len(emma) == 55
    assert emma[0][0].startswith(b"Emma Woodhouse, handsome, clever, and rich")


def test_fine_food_reviews(with_debian_cache):
    train, test = sources.fine_food_reviews("train"), sources.fine_food_reviews("test")
    for data in (train, test):
        assert isinstance(data, ClassificationData)
        assert data.label_names == ("great", "other")
        assert data.dataset.element_spec == ((STRING,), tf.TensorSpec([], tf.int32))
    assert label_counts(train) == {0: 2600, 1: 1400}
    assert label_counts(test) == {0: 658, 1: 342}
    texts = [t for (batch,), _ in train.dataset.batch(4096) for t in batch.numpy()]
    assert not any(b"<br" in text or b"  " in text for text in texts)


# ------------------------------------------------------ shared benchmarks


@pytest.fixture(scope="module")
def shared_data():
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"no shared data at {SHARED_DATA} (CI clones the repository with shared/ beside it)"
        )
    return SHARED_DATA


def test_multi30k_from_shared_data(shared_data):
    sizes = {"train": 29_000, "val": 1_014, "test_2016_flickr": 1_000}
    for split, size in sizes.items():
        dataset = sources.multi30k(shared_data / "multi30k", split)
        assert dataset.element_spec == (STRING, STRING)
        assert int(dataset.cardinality()) == size
    english, german = next(iter(sources.multi30k(shared_data / "multi30k", "val")))
    assert english.numpy().decode() == "A group of men are loading cotton onto a truck"
    assert german.numpy().decode() == "Eine Gruppe von Männern lädt Baumwolle auf einen Lastwagen"
    french = sources.multi30k(shared_data / "multi30k", "val", "de", "fr")
    assert next(iter(french))[0].numpy() == german.numpy()


def test_sst2_from_shared_data(shared_data):
    # train.tsv has `label<TAB>sentence` (and CRLF line ends), dev and test `label<TAB>content`.
    expected = {"train": {0: 29_780, 1: 37_569}, "dev": {0: 428, 1: 444}, "test": {0: 912, 1: 909}}
    for split, counts in expected.items():
        data = sources.sst2(shared_data / "sst2", split)
        assert data.label_names == ("negative", "positive")
        assert data.dataset.element_spec == ((STRING,), tf.TensorSpec([], tf.int32))
        assert label_counts(data) == counts
    (text,), label = next(iter(sources.sst2(shared_data / "sst2", "dev").dataset))
    assert (text.numpy(), int(label)) == (b"one long string of cliches .", 0)


def test_benchmark_folder_without_the_files(tmp_path):
    (tmp_path / "train.en").write_text("A dog.\n")
    message = r"missing train\.de of Multi30k; the folder holds train\.en"
    with pytest.raises(CorpusError, match=message):
        sources.multi30k(tmp_path, "train")
    with pytest.raises(CorpusError, match="unknown Multi30k split 'test'"):
        sources.multi30k(tmp_path, "test")
    with pytest.raises(CorpusError, match=r"missing dev\.tsv of SST-2"):
        sources.sst2(tmp_path, "dev")


# --------------------------------------------------------------- downloads


def test_cannot_download(cache, monkeypatch):
    def offline(url, path):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(sources, "_download", offline)
    message = r"could not download https://raw\.githubusercontent\.com/multi30k/.*train\.en\.gz"
    with pytest.raises(CorpusError, match=message + r" .*pass data_dir="):
        sources.multi30k(split="train")
    with pytest.raises(CorpusError, match=r"could not download https://dl\.fbaipublicfiles\.com/"):
        sources.sst2(split="dev")


def test_download_leaves_no_partial_file(tmp_path):
    # file:// URLs go through the same urllib code as https:// ones, offline.
    remote = tmp_path / "remote.txt"
    remote.write_text("data")
    sources._download(remote.as_uri(), tmp_path / "cache" / "copy.txt")
    assert (tmp_path / "cache" / "copy.txt").read_text() == "data"
    with pytest.raises(urllib.error.URLError):
        sources._download((tmp_path / "missing.txt").as_uri(), tmp_path / "cache" / "other.txt")
    assert [path.name for path in (tmp_path / "cache").iterdir()] == ["copy.txt"]


def test_downloads_land_in_the_cache_once(cache, monkeypatch):
    """The download code, run against fake responses: gunzip, unzip, reuse."""
    fetched = []

    def fake_download(url, path):
        fetched.append(url.rsplit("/", 1)[1])
        path.parent.mkdir(parents=True, exist_ok=True)
        if url.endswith(".zip"):  # GLUE's layout: no labels in test.tsv
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                archive.writestr("SST-2/train.tsv", "sentence\tlabel\ngreat fun \t1\n")
                archive.writestr("SST-2/dev.tsv", "sentence\tlabel\nboring \t0\n")
                archive.writestr("SST-2/test.tsv", "index\tsentence\n0\twho knows\n")
            path.write_bytes(buffer.getvalue())
        else:
            language = url[-5:-3]
            path.write_bytes(gzip.compress({"en": b"A dog.\n", "de": b"Ein Hund.\n"}[language]))

    monkeypatch.setattr(sources, "_download", fake_download)
    for _ in range(2):
        assert batched_texts(sources.multi30k(split="val")) == [("A dog.", "Ein Hund.")]
        data = sources.sst2(split="train")
        assert [(t[0].numpy(), int(label)) for t, label in data.dataset] == [(b"great fun", 1)]
    assert fetched == ["val.en.gz", "val.de.gz", "SST-2.zip"]
    assert sorted(p.name for p in (cache / "multi30k").iterdir()) == ["val.de", "val.en"]
    assert sorted(p.name for p in (cache / "sst2").iterdir()) == [
        "dev.tsv", "test.tsv", "train.tsv"
    ]
    with pytest.raises(CorpusError, match=r"test\.tsv, line 1: missing column\(s\) 'label'"):
        sources.sst2(split="test")


# -------------------------------------------------------------------- TFDS


@pytest.fixture(scope="module")
def tfds():
    return pytest.importorskip("tensorflow_datasets")


def test_tfds_translation_with_mock_data(tfds):
    with tfds.testing.mock_data(num_examples=5):
        dataset = sources.tfds_source("ted_hrlr_translate/pt_to_en", "train")
    assert dataset.element_spec == (STRING, STRING)
    assert len(list(dataset)) == 5


def test_tfds_classification_with_mock_data(tfds):
    with tfds.testing.mock_data(num_examples=6):
        single = sources.load_source("tfds:glue/sst2", split="validation")
        pair = sources.tfds_source("glue/mrpc", "train")
    assert single.label_names == ("negative", "positive")
    assert single.dataset.element_spec == ((STRING,), tf.TensorSpec([], tf.int32))
    assert pair.label_names == ("not_equivalent", "equivalent")
    assert pair.dataset.element_spec == ((STRING, STRING), tf.TensorSpec([], tf.int32))
    assert all(0 <= int(label) < 2 for _, label in pair.dataset)


def test_tfds_not_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)  # makes the import fail
    with pytest.raises(CorpusError, match="pip install tensorflow-datasets"):
        sources.tfds_source("glue/sst2")


# ---------------------------------------------------------------- registry


def test_load_source(tmp_path):
    (tmp_path / "val.en").write_text("A dog.\n")
    (tmp_path / "val.de").write_text("Ein Hund.\n")
    dataset = sources.load_source("multi30k", data_dir=tmp_path, split="val")
    assert batched_texts(dataset) == [("A dog.", "Ein Hund.")]
    with pytest.raises(CorpusError, match="unknown corpus 'wiki'; known: ding_de_en, software_de_en, jane_austen, "
                       "fine_food_reviews, multi30k, squad, sst2, stsb, or 'tfds:<name>'"):
        sources.load_source("wiki")
