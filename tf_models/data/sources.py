"""Named corpora: offline defaults, standard benchmarks and TensorFlow Datasets.

Every source returns one of the records of `tf_models.data.records`: a list
of sentence pairs, a list of documents, `ClassificationData`,
`RegressionData`, or a list of `SquadExample`.

* Offline defaults come from Debian packages (see `tf_models.data.debian`):
  `ding_de_en` (German-English example sentences from the Ding dictionary),
  `software_de_en` (user-interface messages of Debian programs),
  `software_zh_en` (the same programs' Simplified Chinese messages),
  `jane_austen` (six novels, chapters as documents) and `fine_food_reviews`
  (Amazon reviews, `great` / `other`); and from apt's own index:
  `debian_descriptions` (package descriptions as documents),
  `debian_sections` (the same labelled with their archive section) and
  `debian_word_classes` (their sentences, each word tagged with its class).
* Standard benchmarks read from a local folder (`data_dir`), or when it is
  `None` are downloaded once into the cache (`tf_models.data.downloads`):
  `multi30k`, `sst2`, `stsb` and `squad`.
* `tfds_source` wraps TensorFlow Datasets, when it is installed.

`load_source(name, **kwargs)` looks any of them up by name. The cache is
`$TF_MODELS_CACHE`, or `~/.cache/tf_models` when that is unset.
"""

import dataclasses
import functools
import gzip
import html
import logging
import re
import shutil
import zipfile
from pathlib import Path

from tf_models import storage
from tf_models.data.debian import (
    SOFTWARE_MESSAGE_PACKAGES,
    SOFTWARE_MESSAGE_PACKAGES_ZH_CN,
    apt_package_index,
    debian_package,
    extract_ding_pairs,
    package_split,
    read_package_descriptions,
    software_catalogues,
    software_message_pairs,
)
from tf_models.data.downloads import cache_dir, cached_download, require_files
from tf_models.data.r_data import read_r_lazyload
from tf_models.data.readers import load_classification_tsv, load_parallel_files, load_regression_tsv, load_squad
from tf_models.data.records import ClassificationData, CorpusError, TaggingData
from tf_models.data.sentences import split_sentences
from tf_models.data.word_classes import WORD_CLASSES, word_class_sentences, wordnet_lexicon

logger = logging.getLogger(__name__)


def _directed(pairs, reverse):
    """`(foreign, english)` pairs, or `(english, foreign)` ones when `reverse`."""
    return [(english, foreign) for foreign, english in pairs] if reverse else list(pairs)


# --------------------------------------------------------------- Ding de-en


def ding_de_en(reverse=False):
    """German-English example sentences from the Ding dictionary (Debian `dict-de-en`).

    18,707 pairs (from dict-de-en 1.9-6) of short sentences, everyday to
    technical, 7 to 8 words a side on average; see `extract_ding_pairs` for
    what is kept. The first call fetches the 27 MB package; each call parses
    the dictionary again (about 3 seconds). Ding is GPL-2+ licensed.

    Args:
        reverse: `False` for `(german, english)` pairs (de->en), `True` for
            `(english, german)` (en->de).

    Returns:
        A list of `(source, target)` string pairs.

    Example:
    >>> german, english = ding_de_en()[0]  # doctest: +SKIP
    >>> english  # doctest: +SKIP
    'I’ve made one or two modifications to the original design.'
    """
    dictd = debian_package("dict-de-en") / "usr" / "share" / "dictd"
    pairs = extract_ding_pairs(dictd / "german-english.dict.dz", dictd / "german-english.index")
    return _directed(pairs, reverse)

# ------------------------------------------------- software messages (gettext)


def software_de_en(reverse=False, packages=SOFTWARE_MESSAGE_PACKAGES):
    """German-English user-interface messages of Debian programs (gettext catalogues).

    About 42,000 short, literal pairs ("Datei öffnen" / "Open File",
    "Die Datei konnte nicht gespeichert werden." / "The file could not be
    saved.") from the German `.mo` catalogues of `SOFTWARE_MESSAGE_PACKAGES`
    (LibreOffice, GTK, Evolution, VLC, GnuCash, Audacity, ...), cleaned and
    filtered by `software_message_pairs`. Unlike Ding's example sentences,
    which are idioms translated freely, these are translated word for word
    and reuse a small vocabulary, so a small Transformer learns them in
    minutes. The first call downloads the packages (about 44 MB) into the
    cache. Each program's own licence applies (GPL, LGPL, MPL).

    Args:
        reverse: `False` for `(german, english)` pairs (de->en), `True` for
            `(english, german)` (en->de).
        packages: the Debian packages to read catalogues from.

    Returns:
        A list of `(source, target)` string pairs.

    Example:
    >>> german, english = software_de_en()[0]  # doctest: +SKIP
    >>> english  # doctest: +SKIP
    'Please check the entries.'
    """
    pairs = software_message_pairs(software_catalogues(packages, "de"))  # (english, german)
    return _directed([(german, english) for english, german in pairs], reverse)


# A Chinese character (CJK Unified Ideographs, Extension A, Compatibility).
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def software_zh_en(reverse=False, packages=SOFTWARE_MESSAGE_PACKAGES_ZH_CN):
    """Chinese-English user-interface messages of Debian programs: the
    Simplified Chinese (`zh_CN`) catalogues of `software_de_en`'s programs.

    39,157 pairs from Debian 12's packages ("无法删除工作表。" / "The sheets
    could not be deleted."), 36,225 distinct Chinese sources, filtered as
    `software_de_en`'s by `software_message_pairs`; the Chinese accelerators
    "(_O)" are removed with the others (`clean_message`), and a translation
    without a Chinese character (a product name, a format, a Japanese
    string) is dropped.

    Chinese is written without spaces: the WordPiece tokenizer splits every
    Chinese character off as a word of its own, as BERT's does. The first
    call downloads the packages into the cache: `software_de_en`'s, with
    LibreOffice's Chinese package (0.8 MB) for its German one. Each
    program's own licence applies.

    Args:
        reverse: `False` for `(chinese, english)` pairs (zh->en), `True` for
            `(english, chinese)` (en->zh).
        packages: the Debian packages to read catalogues from.

    Returns:
        A list of `(source, target)` string pairs.

    Example:
    >>> software_zh_en()[1]  # doctest: +SKIP
    ('水平滚动条', 'Horizontal scroll bar')
    """
    pairs = software_message_pairs(software_catalogues(packages, "zh_CN"))  # (english, chinese)
    kept = [(chinese, english) for english, chinese in pairs if _HAN.search(chinese)]
    logger.info("software_zh_en: dropped %d pairs whose translation has no Chinese character",
                len(pairs) - len(kept))
    return _directed(kept, reverse)


# ------------------------------------------------------------- Jane Austen

# janeaustenr's object names, in order of publication (as austen_books()).
AUSTEN_NOVELS = {
    "sensesensibility": "Sense & Sensibility",
    "prideprejudice": "Pride & Prejudice",
    "mansfieldpark": "Mansfield Park",
    "emma": "Emma",
    "northangerabbey": "Northanger Abbey",
    "persuasion": "Persuasion",
}
_CHAPTER_HEADING = re.compile(r"chapter\s+([ivxlc]+|\d+)\.?", re.IGNORECASE)
_VOLUME_HEADING = re.compile(r"volume\s+[ivx]+\.?", re.IGNORECASE)
# What follows the story: "THE END", "Finis", Northanger Abbey's editor's note.
_BOOK_END = re.compile(r"the end|finis|a note on the text", re.IGNORECASE)


def austen_chapters(lines, title="the novel"):
    """Cuts one novel's lines into chapters, each a list of sentences.

    Paragraphs (runs of non-blank lines) are joined and split with
    `split_sentences`; `_underscores_` (italics) are removed. The title page
    before the first chapter heading, "VOLUME" headings and everything from
    "THE END" / "Finis" on are dropped and counted in the log.

    Args:
        lines: the novel as a list of lines, as janeaustenr stores it.
        title: the novel's name, for the log.

    Returns:
        A list of chapters, each a list of sentence strings.

    Example:
    >>> austen_chapters(["EMMA", "", "CHAPTER I", "", "Emma was rich.", "",
    ...                  "Mr. Knightley", "came. He smiled.", "", "THE END"])
    [['Emma was rich.', 'Mr. Knightley came.', 'He smiled.']]
    """
    chapters, paragraph, front_matter, dropped = [], [], 0, 0

    def end_paragraph():
        if paragraph and chapters:
            chapters[-1].extend(split_sentences(" ".join(paragraph).replace("_", "")))
        paragraph.clear()

    for number, line in enumerate(lines):
        line = line.strip()
        if _CHAPTER_HEADING.fullmatch(line):
            end_paragraph()
            chapters.append([])
        elif _BOOK_END.fullmatch(line):
            dropped += sum(1 for rest in lines[number:] if rest.strip())
            break
        elif not chapters:
            front_matter += bool(line)
        elif _VOLUME_HEADING.fullmatch(line):
            end_paragraph()
            dropped += 1
        elif line:
            paragraph.append(line)
        else:
            end_paragraph()
    end_paragraph()
    logger.info(
        "%s: kept %d chapters; dropped %d front-matter lines and %d heading or end-matter lines",
        title, len(chapters), front_matter, dropped,
    )
    return chapters


def jane_austen(novels=None):
    """Jane Austen's six novels, one document per chapter (Debian `r-cran-janeaustenr`).

    269 chapters, 31,435 sentences, about 717,000 words. The text is public
    domain (the R package, MIT). janeaustenr stores each novel as an R
    character vector of lines in a lazy-load data base, read with
    `read_r_lazyload`.

    Args:
        novels: names out of `AUSTEN_NOVELS` (e.g. `["emma"]`); all six, in
            order of publication, when `None`.

    Returns:
        A list of documents, each a list of the chapter's sentences (see
        `austen_chapters`).

    Example:
    >>> chapter = next(iter(jane_austen(["emma"])))  # doctest: +SKIP
    >>> chapter[0].numpy()[:42]  # doctest: +SKIP
    b'Emma Woodhouse, handsome, clever, and rich'
    """
    novels = list(AUSTEN_NOVELS) if novels is None else list(novels)
    unknown = [name for name in novels if name not in AUSTEN_NOVELS]
    if unknown:
        raise CorpusError(f"unknown novel(s) {unknown}; expected some of {list(AUSTEN_NOVELS)}")
    database = (
        debian_package("r-cran-janeaustenr")
        / "usr/lib/R/site-library/janeaustenr/data/Rdata"
    )
    documents = []
    for name in novels:
        lines = [str(line) for line in read_r_lazyload(database, name)]
        documents.extend(austen_chapters(lines, AUSTEN_NOVELS[name]))
    return documents


# -------------------------------------------------------- fine food reviews

_HTML_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


def fine_food_reviews(split="train"):
    """Amazon fine-food reviews labelled `great` or `other` (Debian `r-cran-modeldata`).

    modeldata's `small_fine_foods`: 4,000 training and 1,000 test reviews
    (about 65% `great`). Every eighth training review (500) is the
    validation split, which `"train"` leaves out (3,500), so that choices
    made on it (a learning rate, which start to keep) are made on reviews
    that no training run, pretraining included, has read. `<br />` tags and
    HTML entities in the reviews are turned into plain text and runs of
    whitespace collapsed.

    Args:
        split: `"train"`, `"validation"` or `"test"`.

    Returns:
        `ClassificationData` with one text per example and
        `label_names == ("great", "other")`.

    Example:
    >>> data = fine_food_reviews("test")  # doctest: +SKIP
    >>> data.label_names, len(data)  # doctest: +SKIP
    (('great', 'other'), 1000)
    """
    objects = {"train": "training_data", "validation": "training_data", "test": "testing_data"}
    if split not in objects:
        raise CorpusError(f"unknown split {split!r}; expected one of {list(objects)}")
    database = debian_package("r-cran-modeldata") / "usr/lib/R/site-library/modeldata/data/Rdata"
    frame = read_r_lazyload(database, objects[split])
    reviews = [
        " ".join(html.unescape(_HTML_BREAK.sub(" ", str(text))).split()) for text in frame["review"]
    ]
    scores = frame["score"].cat  # an R factor: integer codes plus level names
    empty = sum(not review for review in reviews)
    if empty:  # none in modeldata 1.1.0; kept for other versions
        logger.warning("skipped %d empty reviews in small_fine_foods %s", empty, split)
    kept = [(review, int(code)) for review, code in zip(reviews, scores.codes) if review]
    if split != "test":
        kept = [example for i, example in enumerate(kept) if (i % 8 == 7) == (split == "validation")]
    return ClassificationData.from_lists(
        [review for review, _ in kept], [code for _, code in kept], tuple(scores.categories)
    )


# ------------------------------------------------- Debian package descriptions

# Sections that say what a program is for (not which language it is written
# in, as python or perl do, nor what kind of file it is, as libs or doc do):
# the labels of `debian_sections`.
DEBIAN_TOPIC_SECTIONS = ("database", "editors", "electronics", "fonts", "games", "graphics", "hamradio", "mail",
                         "math", "science", "sound", "video")
DEBIAN_SPLITS = ("train", "validation", "test")


def package_descriptions(split):
    """The descriptions of one split: by source package (`package_split`),
    then without any that shares a paragraph with a later split's (test,
    then validation), as related packages of different sources often do."""
    if split not in DEBIAN_SPLITS:
        raise CorpusError(f"unknown split {split!r}; expected one of {list(DEBIAN_SPLITS)}")
    return list(_package_splits(apt_package_index())[split])


@functools.lru_cache(maxsize=2)
def _package_splits(lists_dir):
    """`{split: tuple of PackageDescription}` of an apt lists folder, read
    once per process (a job and its evaluation ask for several splits)."""
    records = read_package_descriptions(lists_dir)
    kept, seen = {}, set()
    for name in reversed(DEBIAN_SPLITS):  # test first
        kept[name] = tuple(r for r in records
                           if package_split(r.source) == name and not seen.intersection(r.paragraphs))
        seen.update(paragraph for record in kept[name] for paragraph in record.paragraphs)
    return kept


def debian_descriptions(split="train"):
    """The descriptions of Debian's packages as documents: unlabelled English
    text for pretraining BERT (apt's index, see `apt_package_index`).

    Debian bookworm's main archive gives 61,000 distinct descriptions, 3.8
    million words. Sources are hashed to a split by `package_split` (70%
    train, 10% validation, 20% test), and a description that shares a
    paragraph with one of a later split is dropped, which leaves the
    training split 32,500 descriptions, 2.0 million words. So a model
    pretrained on it has not read the validation and test texts of
    `debian_sections`, not even a boilerplate paragraph of them.

    Args:
        split: `"train"`, `"validation"` or `"test"`.

    Returns:
        A list of documents, one per description: its summary, then the
        sentences of its paragraphs (`split_sentences`).

    Example:
    >>> documents = debian_descriptions()  # doctest: +SKIP
    >>> documents[0][:2]  # doctest: +SKIP
    ['Real-time strategy game of ancient warfare', '0 A.D. (pronounced "zero ey-dee") is a free, ...']
    """
    return [[record.summary] + [sentence for paragraph in record.paragraphs for sentence in split_sentences(paragraph)]
            for record in package_descriptions(split)]


def debian_sections(split="train", sections=DEBIAN_TOPIC_SECTIONS):
    """Debian package descriptions labelled with their archive section: what
    the program is for (games, sound, science, mail, ...).

    A topic classification task made from apt's index, whose unlabelled
    text (`debian_descriptions`) is large enough for BERT's pretraining to
    pay at a small scale. The twelve `DEBIAN_TOPIC_SECTIONS` give Debian
    bookworm's main archive 6,300 labelled descriptions: 4,525 train, 587
    validation, 1,194 test; science (24-27%) is the most common.

    Args:
        split: `"train"`, `"validation"` or `"test"` (by source package, as
            `debian_descriptions`).
        sections: the sections kept, which are the labels, in this order.

    Returns:
        `ClassificationData` with one text per example (the summary, then
        the long description) and `label_names == tuple(sections)`.

    Example:
    >>> data = debian_sections("test")  # doctest: +SKIP
    >>> data.label_names[data.labels[0]], data.texts[0][0][:40]  # doctest: +SKIP
    ('games', 'Real-time strategy game of ancient warf')
    """
    sections = tuple(sections)
    kept = [record for record in package_descriptions(split) if record.section in sections]
    if not kept:
        raise CorpusError(f"no descriptions in the sections {list(sections)}")
    return ClassificationData.from_lists([record.text for record in kept],
                                         [sections.index(record.section) for record in kept], sections)


def debian_word_classes(split="train"):
    """Sentences of Debian's package descriptions, each word tagged with its
    word class from WordNet: a tagging task on words the labels never showed.

    The first sentence of each description's long text (4 to 40 words),
    split by source package as `debian_descriptions`, so a model pretrained
    on that text has not read the test sentences. Tags: `WORD_CLASSES`
    (NOUN, VERB, ADJ, ADV from WordNet, FUNC for function words, NUM,
    PUNCT); a word WordNet lists under several parts of speech ("free"), or
    not at all (names), is tagged `IGNORED_LABEL`: read as context, neither
    trained on nor scored (`tf_models.data.word_classes`). Debian bookworm
    gives 30,666 training, 4,247 validation and 11,436 test sentences; a
    third of the words go unscored.

    Args:
        split: `"train"`, `"validation"` or `"test"`.

    Returns:
        `TaggingData` with `label_names == WORD_CLASSES`.

    Example:
    >>> data = debian_word_classes("test")  # doctest: +SKIP
    >>> data.sentences[0][:4], data.tag_names()[0][:4]  # doctest: +SKIP
    (['the', 'sequencing', 'of', 'dna'], ['FUNC', 'VERB', 'FUNC', 'NOUN'])
    """
    documents = debian_descriptions(split)
    words, tags = word_class_sentences([document[1] for document in documents if len(document) > 1],
                                       wordnet_lexicon())
    return TaggingData(words, tags, WORD_CLASSES)


# ---------------------------------------------------------------- Multi30k

MULTI30K_URL = "https://raw.githubusercontent.com/multi30k/dataset/master/data/task1/raw/{name}.gz"
MULTI30K_SPLITS = ("train", "val", "test_2016_flickr")


def _gunzip(compressed, path):
    with storage.atomic_path(path) as part, gzip.open(compressed, "rb") as source, open(part, "wb") as target:
        shutil.copyfileobj(source, target)


def multi30k(data_dir=None, split="train", source_language="en", target_language="de"):
    """Multi30k task 1 (WMT16 multimodal translation): image captions, line-aligned.

    29,000 training, 1,014 validation and 1,000 test (2016 Flickr) captions
    in English, German and French (and Czech). Research and educational use.

    Args:
        data_dir: a folder with `<split>.<language>` files (the raw, gunzipped
            files of GitHub `multi30k/dataset`, `data/task1/raw/`). When
            `None`, the files are downloaded from there into the cache once.
        split: `"train"`, `"val"` or `"test_2016_flickr"`.
        source_language: e.g. `"en"`.
        target_language: e.g. `"de"`.

    Returns:
        A list of `(source, target)` string pairs.

    Example:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "val.en").write_text("A dog runs.\\n")
    >>> _ = (folder / "val.de").write_text("Ein Hund rennt.\\n")
    >>> multi30k(folder, "val")
    [('A dog runs.', 'Ein Hund rennt.')]
    """
    if split not in MULTI30K_SPLITS:
        raise CorpusError(
            f"unknown Multi30k split {split!r}; expected one of {list(MULTI30K_SPLITS)}"
        )
    names = [f"{split}.{source_language}", f"{split}.{target_language}"]
    if data_dir is None:
        data_dir = cache_dir() / "multi30k"
        for name in names:
            cached_download(MULTI30K_URL.format(name=name), data_dir / name,
                            "Multi30k's <split>.<language> files", unpack=_gunzip)
    data_dir = Path(data_dir)
    require_files(data_dir, names, "Multi30k")
    return load_parallel_files(data_dir / names[0], data_dir / names[1])


# ------------------------------------------------------------------- SST-2

GLUE_URL = "https://dl.fbaipublicfiles.com/glue/data/{task}.zip"
SST2_SPLITS = ("train", "dev", "test")
STSB_SPLITS = ("train", "dev", "test")


def _glue_file(task, data_dir, split, splits):
    """`<data_dir>/<split>.tsv` of a GLUE task; with `data_dir=None`, GLUE's
    zip of the task (e.g. "SST-2") is downloaded and unpacked into the cache once."""
    if split not in splits:
        raise CorpusError(f"unknown {task} split {split!r}; expected one of {list(splits)}")
    name = f"{split}.tsv"
    if data_dir is None:
        data_dir = cache_dir() / task.lower().replace("-", "")

        def unzip(archive, path):
            with zipfile.ZipFile(archive) as zipped:
                for member in splits:  # every split at once: one download
                    with storage.atomic_path(data_dir / f"{member}.tsv") as part:
                        part.write_bytes(zipped.read(f"{task}/{member}.tsv"))

        what = f"{task}'s " + ", ".join(f"{s}.tsv" for s in splits)
        cached_download(GLUE_URL.format(task=task), data_dir / name, what, unpack=unzip)
    path = Path(data_dir) / name
    require_files(path.parent, [name], task)
    return path


def sst2(data_dir=None, split="train"):
    """The Stanford Sentiment Treebank, binary (GLUE SST-2).

    Reads `<split>.tsv` with a header row holding `label` and a text column
    named `sentence` (GLUE's files and the usual `train.tsv`) or `content`
    (some copies' `dev.tsv` and `test.tsv`). Labels `0` and `1` are
    named `negative` and `positive`.

    Args:
        data_dir: a folder with `train.tsv`, `dev.tsv` and `test.tsv`. When
            `None`, GLUE's SST-2 zip is downloaded into the cache once.
            GLUE's own `test.tsv` has no labels, so its test split raises.
        split: `"train"`, `"dev"` or `"test"`.

    Returns:
        `ClassificationData` with one text per example and
        `label_names == ("negative", "positive")`.

    Example:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "dev.tsv").write_text("label\\tcontent\\n1\\ta gem .\\n")
    >>> data = sst2(folder, "dev")
    >>> data.texts, [data.label_names[label] for label in data.labels]
    ((('a gem .',),), ['positive'])
    """
    path = _glue_file("SST-2", data_dir, split, SST2_SPLITS)
    with open(path, "rb") as file:
        header = file.readline().decode("utf-8", errors="replace").strip().split("\t")
    text_column = "content" if "content" in header else "sentence"
    data = load_classification_tsv(path, (text_column,), "label", label_names=("0", "1"))
    return dataclasses.replace(data, label_names=("negative", "positive"))


def stsb(data_dir=None, split="train"):
    """The Semantic Textual Similarity Benchmark (GLUE STS-B): sentence
    pairs scored 0 (unrelated) to 5 (same meaning). 5,749 training and
    1,500 development pairs.

    Args:
        data_dir: a folder with GLUE's `train.tsv`, `dev.tsv` and `test.tsv`
            (columns `sentence1`, `sentence2`, `score`). When `None`, GLUE's
            STS-B zip is downloaded into the cache once. GLUE's `test.tsv`
            has no scores, so its test split raises.
        split: `"train"`, `"dev"` or `"test"`.

    Returns:
        `RegressionData` of `(sentence1, sentence2)` pairs and their scores,
        as `load_regression_tsv` reads it.

    Example:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "dev.tsv").write_text("sentence1\\tsentence2\\tscore\\nA dog.\\tA cat.\\t1.5\\n")
    >>> stsb(folder, "dev").labels
    (1.5,)
    """
    return load_regression_tsv(_glue_file("STS-B", data_dir, split, STSB_SPLITS))


# ------------------------------------------------------------- SQuAD v1.1

SQUAD_URL = "https://rajpurkar.github.io/SQuAD-explorer/dataset/{name}"
SQUAD_FILES = {"train": "train-v1.1.json", "dev": "dev-v1.1.json"}


def squad(data_dir=None, split="train"):
    """SQuAD v1.1 (Rajpurkar et al. 2016): questions on Wikipedia paragraphs,
    answered by a span of the paragraph. 87,599 training and 10,570
    development questions (CC BY-SA 4.0).

    Args:
        data_dir: a folder with `train-v1.1.json` and `dev-v1.1.json`. When
            `None`, the split's file is downloaded from the SQuAD site into
            the cache once.
        split: `"train"` or `"dev"`.

    Returns:
        A list of `SquadExample` (see `load_squad`).

    Example:
    >>> import json, tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> paragraph = {"context": "The Beatles sang.", "qas": [{"id": "q1", "question": "Who sang?",
    ...              "answers": [{"text": "The Beatles", "answer_start": 0}]}]}
    >>> data = {"version": "1.1", "data": [{"title": "Music", "paragraphs": [paragraph]}]}
    >>> _ = (folder / "dev-v1.1.json").write_text(json.dumps(data))
    >>> [(e.question, e.answers) for e in squad(folder, "dev")]
    [('Who sang?', (('The Beatles', 0),))]
    """
    if split not in SQUAD_FILES:
        raise CorpusError(f"unknown SQuAD split {split!r}; expected one of {list(SQUAD_FILES)}")
    name = SQUAD_FILES[split]
    if data_dir is None:
        data_dir = cache_dir() / "squad"
        cached_download(SQUAD_URL.format(name=name), data_dir / name, "SQuAD's train-v1.1.json and dev-v1.1.json")
    require_files(data_dir, [name], "SQuAD v1.1")
    return load_squad(Path(data_dir) / name)


# ------------------------------------------------------ TensorFlow Datasets


def tfds_source(name, split="train", data_dir=None, download=True):
    """A TensorFlow Datasets data set, in this package's shapes.

    Translation sets (two text features as supervised keys, e.g.
    `"ted_hrlr_translate/pt_to_en"`) become `(source, target)` pairs;
    classification sets (one or two text features and a `ClassLabel` named
    `label`, e.g. `"glue/sst2"`, `"glue/mrpc"`) become `ClassificationData`.
    Note that GLUE's test splits carry the label -1 (hidden).

    Args:
        name: the TFDS name, with config, e.g. `"glue/sst2"`.
        split: a TFDS split, e.g. `"train"` or `"validation[:10%]"`.
        data_dir: TFDS's data folder (`~/tensorflow_datasets` when `None`).
        download: whether to download and prepare the data when absent.

    Returns:
        A list of `(source, target)` string pairs, or `ClassificationData`
        (read whole into memory, as the other sources are).

    Raises:
        CorpusError: when `tensorflow-datasets` is not installed, or the data
            set has neither shape.

    Example:
    >>> import tensorflow_datasets as tfds  # doctest: +SKIP
    >>> with tfds.testing.mock_data(num_examples=4):  # doctest: +SKIP
    ...     data = tfds_source("glue/sst2")
    >>> data.label_names  # doctest: +SKIP
    ('negative', 'positive')
    """
    try:
        import tensorflow_datasets as tfds
    except ImportError as error:
        raise CorpusError(
            "tfds_source needs TensorFlow Datasets: pip install tensorflow-datasets "
            "(it is in requirements-dev.txt)"
        ) from error
    builder = tfds.builder(name, data_dir=data_dir)
    if download:
        builder.download_and_prepare()
    features = builder.info.features
    texts = [key for key, feature in features.items() if isinstance(feature, tfds.features.Text)]
    supervised = builder.info.supervised_keys
    if supervised and len(supervised) == 2 and all(key in texts for key in supervised):
        pairs = tfds.as_numpy(builder.as_dataset(split=split, as_supervised=True))
        return [(source.decode("utf-8"), target.decode("utf-8")) for source, target in pairs]
    label = features["label"] if "label" in features else None
    if isinstance(label, tfds.features.ClassLabel) and len(texts) in (1, 2):
        examples = list(tfds.as_numpy(builder.as_dataset(split=split)))
        columns = tuple([example[key].decode("utf-8") for example in examples] for key in texts)
        labels = [int(example["label"]) for example in examples]
        return ClassificationData.from_lists(columns, labels, label.names)
    raise CorpusError(
        f"TFDS {name!r} is neither a translation set (two text supervised keys) nor a "
        "classification set (one or two text features and a 'label'); "
        f"its features: {list(features)}"
    )


# ---------------------------------------------------------------- registry

SOURCES = {
    "ding_de_en": ding_de_en,
    "software_de_en": software_de_en,
    "software_zh_en": software_zh_en,
    "jane_austen": jane_austen,
    "fine_food_reviews": fine_food_reviews,
    "debian_descriptions": debian_descriptions,
    "debian_sections": debian_sections,
    "debian_word_classes": debian_word_classes,
    "multi30k": multi30k,
    "squad": squad,
    "sst2": sst2,
    "stsb": stsb,
}


def load_source(name, **kwargs):
    """Loads a corpus by name: one of `SOURCES`, or `"tfds:<tfds name>"`.

    Args:
        name: e.g. `"ding_de_en"`, `"multi30k"` or `"tfds:glue/sst2"`.
        **kwargs: passed to the source's function.

    Raises:
        CorpusError: for an unknown name, listing the known ones.

    Example:
    >>> load_source("wikipedia")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tf_models.data.records.CorpusError: unknown corpus 'wikipedia'; known: ding_de_en, ...
    """
    if name.startswith("tfds:"):
        return tfds_source(name.removeprefix("tfds:"), **kwargs)
    if name not in SOURCES:
        raise CorpusError(
            f"unknown corpus {name!r}; known: {', '.join(SOURCES)}, "
            "or 'tfds:<name>' for TensorFlow Datasets"
        )
    return SOURCES[name](**kwargs)
