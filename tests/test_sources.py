"""Named sources: what each returns, the shared benchmarks, TFDS and the registry.

The integration tests fetch the Jane Austen and fine-food packages with
apt-get into a temporary cache; the benchmark tests read ../shared/data. No
test touches the network otherwise.
"""

import sys
from collections import Counter
from pathlib import Path

import pytest

from tf_models.data import sources
from tf_models.data.records import ClassificationData, CorpusError

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


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


def test_software_de_en_directions(monkeypatch):
    monkeypatch.setattr(sources, "software_catalogues", lambda packages, language: ["a.mo"])
    monkeypatch.setattr(sources, "software_message_pairs", lambda catalogues: [("Open File", "Datei öffnen")])
    assert sources.software_de_en() == [("Datei öffnen", "Open File")]
    assert sources.software_de_en(reverse=True) == [("Open File", "Datei öffnen")]


def test_software_zh_en_reads_zh_cn_and_keeps_chinese_translations(monkeypatch):
    monkeypatch.setattr(sources, "software_catalogues", lambda packages, language: [language])
    monkeypatch.setattr(sources, "software_message_pairs", lambda catalogues: [
        ("Open File", "打开文件"), ("JPEG 2000", "JPEG"), ("Catalogue read", catalogues[0])])
    assert sources.software_zh_en() == [("打开文件", "Open File")]  # zh_CN catalogues; no copy of a name
    assert sources.software_zh_en(reverse=True) == [("Open File", "打开文件")]
    assert sources.SOFTWARE_MESSAGE_PACKAGES_ZH_CN[0] == "libreoffice-l10n-zh-cn"



# Integration: the real packages, fetched with apt-get into a temporary cache
# once per test session (the `with_debian_cache` fixture of conftest.py).


def test_jane_austen(with_debian_cache):
    chapters = sources.jane_austen()
    assert all(isinstance(sentence, str) for chapter in chapters for sentence in chapter)
    assert len(chapters) == 269  # 50 + 61 + 48 + 55 + 31 + 24
    # 31,435 sentences with janeaustenr 1.0.0 and this package's splitter.
    assert 30_000 <= sum(map(len, chapters)) <= 33_000
    assert 700_000 <= sum(len(s.split()) for chapter in chapters for s in chapter) <= 730_000
    assert chapters[0][0] == "The family of Dashwood had long been settled in Sussex."
    emma = sources.jane_austen(["emma"])
    assert len(emma) == 55
    assert emma[0][0].startswith("Emma Woodhouse, handsome, clever, and rich")


def test_fine_food_reviews(with_debian_cache):
    train, validation, test = (sources.fine_food_reviews(split) for split in ("train", "validation", "test"))
    for data in (train, validation, test):
        assert isinstance(data, ClassificationData)
        assert data.label_names == ("great", "other")
        assert len(data.texts) == 1 and len(data.texts[0]) == len(data.labels)
    # modeldata's 4,000 training reviews, every eighth for validation.
    assert len(train) == 3500 and len(validation) == 500
    assert Counter(train.labels) + Counter(validation.labels) == {0: 2600, 1: 1400}
    assert not set(train.texts[0]) & set(validation.texts[0])
    assert Counter(test.labels) == {0: 658, 1: 342}
    assert not any("<br" in text or "  " in text for text in train.texts[0])


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
        assert len(sources.multi30k(shared_data / "multi30k", split)) == size
    english, german = sources.multi30k(shared_data / "multi30k", "val")[0]
    assert english == "A group of men are loading cotton onto a truck"
    assert german == "Eine Gruppe von Männern lädt Baumwolle auf einen Lastwagen"
    french = sources.multi30k(shared_data / "multi30k", "val", "de", "fr")
    assert french[0][0] == german


def test_sst2_from_shared_data(shared_data):
    # train.tsv has `label<TAB>sentence` (and CRLF line ends), dev and test `label<TAB>content`.
    expected = {"train": {0: 29_780, 1: 37_569}, "dev": {0: 428, 1: 444}, "test": {0: 912, 1: 909}}
    for split, counts in expected.items():
        data = sources.sst2(shared_data / "sst2", split)
        assert data.label_names == ("negative", "positive")
        assert len(data.texts) == 1 and Counter(data.labels) == counts
    dev = sources.sst2(shared_data / "sst2", "dev")
    assert (dev.texts[0][0], dev.labels[0]) == ("one long string of cliches .", 0)


def test_benchmark_folder_without_the_files(tmp_path):
    (tmp_path / "train.en").write_text("A dog.\n")
    message = r"missing train\.de of Multi30k; the folder holds train\.en"
    with pytest.raises(CorpusError, match=message):
        sources.multi30k(tmp_path, "train")
    with pytest.raises(CorpusError, match="unknown Multi30k split 'test'"):
        sources.multi30k(tmp_path, "test")
    with pytest.raises(CorpusError, match=r"missing dev\.tsv of SST-2"):
        sources.sst2(tmp_path, "dev")


# -------------------------------------------------------------------- TFDS


@pytest.fixture(scope="module")
def tfds():
    return pytest.importorskip("tensorflow_datasets")


def test_tfds_translation_with_mock_data(tfds):
    with tfds.testing.mock_data(num_examples=5):
        pairs = sources.tfds_source("ted_hrlr_translate/pt_to_en", "train")
    assert len(pairs) == 5 and all(isinstance(s, str) and isinstance(t, str) for s, t in pairs)


def test_tfds_classification_with_mock_data(tfds):
    with tfds.testing.mock_data(num_examples=6):
        single = sources.load_source("tfds:glue/sst2", split="validation")
        pair = sources.tfds_source("glue/mrpc", "train")
    assert single.label_names == ("negative", "positive")
    assert isinstance(single, ClassificationData) and len(single.texts) == 1 and len(single) == 6
    assert pair.label_names == ("not_equivalent", "equivalent")
    assert len(pair.texts) == 2 and all(isinstance(text, str) for text in pair.texts[1])
    assert all(0 <= label < 2 for label in pair.labels)


def test_tfds_not_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)  # makes the import fail
    with pytest.raises(CorpusError, match="pip install tensorflow-datasets"):
        sources.tfds_source("glue/sst2")


# ---------------------------------------------------------------- registry


def test_load_source(tmp_path):
    (tmp_path / "val.en").write_text("A dog.\n")
    (tmp_path / "val.de").write_text("Ein Hund.\n")
    assert sources.load_source("multi30k", data_dir=tmp_path, split="val") == [("A dog.", "Ein Hund.")]
    with pytest.raises(CorpusError, match="unknown corpus 'wiki'; known: ding_de_en, software_de_en, software_zh_en, "
                       "jane_austen, fine_food_reviews, debian_descriptions, debian_sections, debian_word_classes, "
                       "multi30k, squad, sst2, stsb, or 'tfds:<name>'"):
        sources.load_source("wiki")
