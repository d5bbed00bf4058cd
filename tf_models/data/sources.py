"""Named corpora: offline defaults, standard benchmarks and TensorFlow Datasets.

Every source returns one of the shapes of `tf_models.data.formats`:
sentence pairs, documents, `ClassificationData`, or SQuAD examples.

* Offline defaults come from Debian packages, fetched with the machine's own
  package manager (`apt-get download`, then `dpkg-deb -x`) into the cache, so
  no data is committed and no internet beyond the package mirror is needed:
  `ding_de_en` (German-English example sentences from the Ding dictionary),
  `jane_austen` (six novels, chapters as documents) and `fine_food_reviews`
  (Amazon reviews, `great` / `other`).
* Standard benchmarks read from a local folder (`data_dir`), or when it is
  `None` are downloaded once into the cache: `multi30k`, `sst2`, `stsb` and
  `squad`.
* `tfds_source` wraps TensorFlow Datasets, when it is installed.

`load_source(name, **kwargs)` looks any of them up by name. The cache is
`$TF_MODELS_CACHE`, or `~/.cache/tf_models` when that is unset.
"""

import dataclasses
import gzip
import html
import logging
import os
import re
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections import Counter
from pathlib import Path

import tensorflow as tf

from tf_models.data.formats import (
    ClassificationData,
    CorpusError,
    classification_data,
    documents_dataset,
    load_classification_tsv,
    load_parallel_files,
    load_regression_tsv,
    load_squad,
    pairs_dataset,
    read_r_lazyload,
    split_sentences,
)

logger = logging.getLogger(__name__)

CACHE_ENVIRONMENT_VARIABLE = "TF_MODELS_CACHE"


def cache_dir():
    """The folder where downloaded and unpacked corpora are kept.

    Example:
    >>> from unittest import mock
    >>> with mock.patch.dict("os.environ", {"TF_MODELS_CACHE": "/data/corpora"}):
    ...     print(cache_dir())
    /data/corpora
    """
    configured = os.environ.get(CACHE_ENVIRONMENT_VARIABLE)
    return Path(configured) if configured else Path.home() / ".cache" / "tf_models"


# ---------------------------------------------------------- Debian packages


def debian_package(package):
    """Downloads and unpacks a Debian package into the cache, once.

    Runs `apt-get download <package>` and `dpkg-deb -x` in a temporary folder
    inside the cache, then renames the unpacked tree into place: a crash
    leaves no half-unpacked package, and later calls reuse the tree. Needs no
    root rights, only readable package lists.

    Args:
        package: the Debian package name, e.g. `"dict-de-en"`.

    Returns:
        The folder holding the package's file tree (its `usr/...`).

    Raises:
        CorpusError: when `apt-get` or `dpkg-deb` is missing or fails.

    Example:
    >>> debian_package("dict-de-en")  # doctest: +SKIP
    PosixPath('/root/.cache/tf_models/debian/dict-de-en')
    """
    root = cache_dir() / "debian" / package
    if root.is_dir():
        return root
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise CorpusError(
                f"{tool} not found: the {package!r} corpus comes from a Debian package. On other "
                "systems pass your own files to the loaders of tf_models.data.formats."
            )
    root.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{package}-", dir=root.parent))
    try:
        result = subprocess.run(
            ["apt-get", "download", package], cwd=work, capture_output=True, text=True
        )
        debs = sorted(work.glob("*.deb"))
        if result.returncode != 0 or not debs:
            raise CorpusError(
                f"`apt-get download {package}` failed: {result.stderr.strip()[-500:]}\n"
                "The package lists may be missing or stale: run `apt-get update` (as root) and "
                "try again, or pass your own files to the loaders of tf_models.data.formats."
            )
        result = subprocess.run(
            ["dpkg-deb", "-x", str(debs[0]), str(work / "tree")], capture_output=True, text=True
        )
        if result.returncode != 0:
            message = result.stderr.strip()[-500:]
            raise CorpusError(f"`dpkg-deb -x {debs[0].name}` failed: {message}")
        try:
            (work / "tree").rename(root)
        except OSError:
            if not root.is_dir():  # else another process got there first
                raise
        logger.info("unpacked Debian package %s into %s", package, root)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the .deb and any partial tree
    return root


# --------------------------------------------------------------- Ding de-en

_DICTD_BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# Grammar annotations ({f}, {pl}, {v}) and notes ([ugs.], [Br.]) in the entries.
_DING_NOTE = re.compile(r"\s*(\{[^{}]*\}|\[[^\[\]]*\])")
# A note after the last full stop: "Keep cool. (safety note)".
_DING_TRAILING_NOTE = re.compile(r"(?<=[.!?])\s*\([^()]*\)$")
# What is left after cleaning and marks an entry as a pattern or a choice,
# not a sentence: word alternatives ("comes/stems"), optional words ("(all)"),
# gaps ("…") and placeholders for something / somebody.
_DING_UNSAFE = re.compile(r"[/()\[\]{}<>]|…|\.\.\.|\b(sth|sb|etw|jd|jdm|jdn|jdr|jds)\.")
_SENTENCE_END = re.compile(r"""[.!?]["'’”“]?$""")


def _dictd_number(text):
    value = 0
    for character in text:
        value = value * 64 + _DICTD_BASE64.index(character)
    return value


def _is_sentence(text, min_words):
    opening = text.lstrip("\"'„“‚‘")
    return (
        bool(opening)
        and (opening[0].isupper() or opening[0].isdigit())
        and bool(_SENTENCE_END.search(text))
        and len(text.split()) >= min_words
    )


def _clean_ding_side(text):
    text = _DING_TRAILING_NOTE.sub("", _DING_NOTE.sub("", text)).strip()
    return " ".join(text.split())


def extract_ding_pairs(dict_path, index_path, min_words=3):
    """Extracts German-English example-sentence pairs from the Ding dictionary.

    Debian's `dict-de-en` holds Ding in dictd format: `german-english.index`
    gives, per entry, the offset and length (dictd base64 numbers) of its
    text in the gzip-compressed `german-english.dict.dz`. An entry is the
    German headword (one `;`-alternative of a Ding line), a line of grammar
    notes indented by one space, then the English side indented by three,
    its alternatives separated by `;`. Long lines wrap without indentation,
    which is why entries are cut by the index rather than by line shape.

    A pair is kept when, after `{...}` grammar annotations, `[...]` notes and a
    trailing `(...)` note are stripped, both the German headword and an
    English alternative are sentences: they start with a capital (or a digit,
    maybe behind a quote), end with `.`, `!` or `?` and have at least
    `min_words` words; and neither side holds a `/` alternative, an optional
    `(...)` part, a `…` gap or a placeholder (sth., sb., etw., jdn., ...).
    Exact duplicates are dropped. The counts of what was rejected and why are
    logged.

    Args:
        dict_path: path of `german-english.dict.dz`.
        index_path: path of `german-english.index`.
        min_words: the fewest words a side may have.

    Returns:
        A list of `(german, english)` string pairs, in dictionary order.

    Example:
    >>> dictd = "/usr/share/dictd/"
    >>> extract_ding_pairs(dictd + "german-english.dict.dz",
    ...                    dictd + "german-english.index")[2]  # doctest: +SKIP
    ('Noch ist nicht aller Tage Abend.', 'It’s not over until it’s over.')
    """
    with gzip.open(dict_path, "rb") as file:
        data = file.read()
    spans = []
    with open(index_path, encoding="utf-8") as file:
        for line_number, line in enumerate(file, start=1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 3:
                raise CorpusError(
                    f"{index_path}, line {line_number}: expected 3 tab-separated fields"
                )
            # The index's headwords are lower-cased and stripped of punctuation,
            # but keep their words: skipping the short ones here (six entries
            # in seven) makes the extraction several times faster. The margin
            # of one allows for a dash, which counts as a word below.
            if len(fields[0].split()) >= min_words - 1:
                spans.append((_dictd_number(fields[1]), _dictd_number(fields[2])))

    pairs, seen, rejected = [], set(), Counter()
    for offset, length in sorted(set(spans)):
        lines = data[offset : offset + length].decode("utf-8").rstrip("\n").split("\n")
        english_start = next((i for i, line in enumerate(lines) if line.startswith("   ")), None)
        if english_start is None or english_start < 2:
            continue  # the database's header entries, not translations
        # The line before the English is the notes line (blank or " {f} ...").
        german = _clean_ding_side(" ".join(lines[: english_start - 1]))
        if not _is_sentence(german, min_words):
            continue  # a word or phrase: most of the dictionary
        english_side = " ".join(line.strip() for line in lines[english_start:])
        for english in english_side.split(";"):
            english = _clean_ding_side(english)
            if not _is_sentence(english, min_words):
                rejected["the English is not a sentence"] += 1
            elif _DING_UNSAFE.search(german) or _DING_UNSAFE.search(english):
                rejected["alternatives, optional parts, gaps or placeholders"] += 1
            elif (german, english) in seen:
                rejected["duplicates"] += 1
            else:
                seen.add((german, english))
                pairs.append((german, english))
    logger.info(
        "Ding: kept %d sentence pairs; rejected %s",
        len(pairs), ", ".join(f"{count} ({reason})" for reason, count in rejected.items()),
    )
    return pairs


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
        A `tf.data.Dataset` of `(source, target)` scalar `tf.string` pairs.

    Example:
    >>> german, english = next(iter(ding_de_en()))  # doctest: +SKIP
    >>> english.numpy().decode()  # doctest: +SKIP
    'I’ve made one or two modifications to the original design.'
    """
    dictd = debian_package("dict-de-en") / "usr" / "share" / "dictd"
    pairs = extract_ding_pairs(dictd / "german-english.dict.dz", dictd / "german-english.index")
    german, english = zip(*pairs)
    return pairs_dataset(english, german) if reverse else pairs_dataset(german, english)


# ------------------------------------------------- software messages (gettext)

# Debian packages whose German gettext catalogues (.mo) hold many short user
# interface messages: office, mail, media, photo and desktop programs. Place
# names (iso-codes), time zones and compiler diagnostics are left out: they
# copy names or are mostly jargon. About 44 MB to download, once.
SOFTWARE_MESSAGE_PACKAGES = (
    "libreoffice-l10n-de",   # MPL-2.0
    "digikam-data",          # GPL-2+
    "vlc-l10n",              # GPL-2+
    "gnucash-common",        # GPL-2+
    "audacity-data",         # GPL-2+
    "libgtk-3-common",       # LGPL-2+
    "evolution-common",      # LGPL-2+
    "claws-mail-i18n",       # GPL-3+
    "gnumeric-common",       # GPL-2+
    "pidgin-data",           # GPL-2+
    "gnome-control-center-data",  # GPL-2+
    "geany-common",          # GPL-2+
    "rhythmbox-data",        # GPL-2+
    "nautilus-data",         # GPL-3+
    "thunar-data",           # GPL-2+
)
# Catalogue files that are lists of names, not messages.
_NAME_CATALOGUES = re.compile(r"timezones|iso_|countries|languages", re.IGNORECASE)
# Keyboard accelerators: GTK's "_Open", LibreOffice's "~Open", Qt's "&Open".
_ACCELERATOR = re.compile(r"[_~&](?=\w)")
# What marks a message as a template or markup rather than a sentence:
# printf and brace placeholders, tags, entities, escapes, command-line options.
_MESSAGE_UNSAFE = re.compile(r"[%{}<>\\$@|]|&\w+;|(^|\s)--?\w|\w_\w|\.\.\.\w")


def clean_message(text):
    """A catalogue message as a user reads it: accelerators removed, one line.

    Example:
    >>> clean_message("Save _As...")
    'Save As...'
    >>> clean_message("~Open File")
    'Open File'
    """
    return " ".join(_ACCELERATOR.sub("", text).split())


def software_message_pairs(catalogues, min_words=2, max_words=15):
    """English-German message pairs from gettext `.mo` catalogues.

    A pair is a catalogue entry's English `msgid` and its German `msgstr`,
    both cleaned with `clean_message`. Kept when it has no plural forms,
    neither side holds a placeholder, markup, command-line option or an
    underscore inside a word (an identifier such as `show_all`, and now and
    then a mid-word accelerator; see `_MESSAGE_UNSAFE`), the English has
    `min_words` to `max_words` words,
    and the German differs from the English (an untranslated entry is a
    copy). The same English message in several catalogues keeps its first
    translation, so every English message appears once.

    Args:
        catalogues: paths of German `.mo` files, read with polib.
        min_words: fewest English words.
        max_words: most English words.

    Returns:
        A list of `(english, german)` string pairs, in catalogue order.

    Example:
    >>> import tempfile, polib
    >>> catalogue = polib.POFile()
    >>> catalogue.metadata = {"Content-Type": "text/plain; charset=UTF-8"}
    >>> for english, german in [("_Open File", "Datei _öffnen"), ("%d files", "%d Dateien"),
    ...                         ("Cancel", "Abbrechen"), ("Print Preview", "Druckvorschau")]:
    ...     catalogue.append(polib.POEntry(msgid=english, msgstr=german))
    >>> path = tempfile.mkdtemp() + "/de.mo"
    >>> catalogue.save_as_mofile(path)
    >>> sorted(software_message_pairs([path]))  # a .mo file sorts its entries
    [('Open File', 'Datei öffnen'), ('Print Preview', 'Druckvorschau')]
    """
    import polib  # only this source reads gettext catalogues

    pairs, seen, rejected = [], set(), Counter()
    for path in catalogues:
        try:
            entries = polib.mofile(str(path))
        except (OSError, ValueError, UnicodeDecodeError) as error:
            logger.warning("skipped unreadable catalogue %s: %s", path, error)
            continue
        for entry in entries:
            if entry.msgid_plural or not entry.msgstr:
                rejected["plural or untranslated"] += 1
                continue
            english, german = clean_message(entry.msgid), clean_message(entry.msgstr)
            if _MESSAGE_UNSAFE.search(entry.msgid) or _MESSAGE_UNSAFE.search(entry.msgstr):
                rejected["placeholders, markup or options"] += 1
            elif not min_words <= len(english.split()) <= max_words:
                rejected[f"not {min_words}-{max_words} words"] += 1
            elif english == german:
                rejected["German same as English"] += 1
            elif english in seen:
                rejected["English seen before"] += 1
            else:
                seen.add(english)
                pairs.append((english, german))
    logger.info(
        "software messages: kept %d pairs; rejected %s",
        len(pairs), ", ".join(f"{count} ({reason})" for reason, count in rejected.items()),
    )
    return pairs


def software_catalogues(packages=SOFTWARE_MESSAGE_PACKAGES, language="de"):
    """The `language` gettext catalogues (`.mo`) of Debian `packages`,
    fetched into the cache with `debian_package`, name lists left out."""
    catalogues = []
    for package in packages:
        tree = debian_package(package)
        for path in sorted(tree.rglob(f"{language}/LC_MESSAGES/*.mo")):
            if not _NAME_CATALOGUES.search(path.name):
                catalogues.append(path)
    if not catalogues:
        raise CorpusError(f"no {language!r} catalogues in the Debian packages {list(packages)}")
    return catalogues


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
        A `tf.data.Dataset` of `(source, target)` scalar `tf.string` pairs.

    Example:
    >>> german, english = next(iter(software_de_en()))  # doctest: +SKIP
    >>> english.numpy().decode()  # doctest: +SKIP
    'Please check the entries.'
    """
    pairs = software_message_pairs(software_catalogues(packages, "de"))
    english, german = zip(*pairs)
    return pairs_dataset(english, german) if reverse else pairs_dataset(german, english)


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
        A `tf.data.Dataset` of documents: 1-D `tf.string` tensors of the
        chapter's sentences (see `austen_chapters`).

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
    return documents_dataset(documents)


# -------------------------------------------------------- fine food reviews

_HTML_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


def fine_food_reviews(split="train"):
    """Amazon fine-food reviews labelled `great` or `other` (Debian `r-cran-modeldata`).

    modeldata's `small_fine_foods`: 4,000 training and 1,000 test reviews
    (about 65% `great`). `<br />` tags and HTML entities in the reviews are
    turned into plain text and runs of whitespace collapsed.

    Args:
        split: `"train"` or `"test"`.

    Returns:
        `ClassificationData` with one text per example and
        `label_names == ("great", "other")`.

    Example:
    >>> data = fine_food_reviews("test")  # doctest: +SKIP
    >>> data.label_names, int(data.dataset.cardinality())  # doctest: +SKIP
    (('great', 'other'), 1000)
    """
    objects = {"train": "training_data", "test": "testing_data"}
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
    return classification_data(
        [review for review, _ in kept], [code for _, code in kept], tuple(scores.categories)
    )


# ---------------------------------------------------------------- downloads


def _download(url, path):
    """Fetches `url` into `path` through a temporary file, so no half file is left."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            with urllib.request.urlopen(url, timeout=60) as response:
                shutil.copyfileobj(response, file)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _fetch(url, path, what):
    """Downloads into the cache, turning network failures into a `CorpusError`."""
    logger.info("downloading %s into %s", url, path)
    try:
        _download(url, path)
    except (OSError, urllib.error.URLError) as error:
        raise CorpusError(
            f"could not download {url} ({error}); without internet, pass data_dir= a folder "
            f"that holds {what}"
        ) from error


def _require_files(folder, names, what):
    folder = Path(folder)
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        present = sorted(path.name for path in folder.glob("*")) if folder.is_dir() else []
        raise CorpusError(
            f"{folder}: missing {', '.join(missing)} of {what}; the folder holds "
            f"{', '.join(present) if present else 'nothing'}"
        )


# ---------------------------------------------------------------- Multi30k

MULTI30K_URL = "https://raw.githubusercontent.com/multi30k/dataset/master/data/task1/raw/{name}.gz"
MULTI30K_SPLITS = ("train", "val", "test_2016_flickr")


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
        A `tf.data.Dataset` of `(source, target)` scalar `tf.string` pairs.

    Example:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "val.en").write_text("A dog runs.\\n")
    >>> _ = (folder / "val.de").write_text("Ein Hund rennt.\\n")
    >>> [(en.numpy(), de.numpy()) for en, de in multi30k(folder, "val")]
    [(b'A dog runs.', b'Ein Hund rennt.')]
    """
    if split not in MULTI30K_SPLITS:
        raise CorpusError(
            f"unknown Multi30k split {split!r}; expected one of {list(MULTI30K_SPLITS)}"
        )
    names = [f"{split}.{source_language}", f"{split}.{target_language}"]
    if data_dir is None:
        data_dir = cache_dir() / "multi30k"
        for name in names:
            if not (data_dir / name).is_file():
                compressed = data_dir / f"{name}.gz"
                url = MULTI30K_URL.format(name=name)
                _fetch(url, compressed, "Multi30k's <split>.<language> files")
                part = data_dir / f"{name}.part"
                with gzip.open(compressed, "rb") as source, open(part, "wb") as target:
                    shutil.copyfileobj(source, target)
                part.replace(data_dir / name)
                compressed.unlink()
    data_dir = Path(data_dir)
    _require_files(data_dir, names, "Multi30k")
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
        if not (data_dir / name).is_file():
            archive = data_dir / f"{task}.zip"
            _fetch(GLUE_URL.format(task=task), archive, f"{task}'s " + ", ".join(f"{s}.tsv" for s in splits))
            with zipfile.ZipFile(archive) as zipped:
                for member in splits:
                    part = data_dir / f"{member}.tsv.part"
                    part.write_bytes(zipped.read(f"{task}/{member}.tsv"))
                    part.replace(data_dir / f"{member}.tsv")
            archive.unlink()
    path = Path(data_dir) / name
    _require_files(path.parent, [name], task)
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
    >>> [(t[0].numpy(), data.label_names[l]) for t, l in data.dataset]
    [(b'a gem .', 'positive')]
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
        A `tf.data.Dataset` of `((sentence1, sentence2), score)`, as
        `load_regression_tsv` reads it.

    Example:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "dev.tsv").write_text("sentence1\\tsentence2\\tscore\\nA dog.\\tA cat.\\t1.5\\n")
    >>> [float(score) for _, score in stsb(folder, "dev")]
    [1.5]
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
        if not (data_dir / name).is_file():
            _fetch(SQUAD_URL.format(name=name), data_dir / name, "SQuAD's train-v1.1.json and dev-v1.1.json")
    _require_files(data_dir, [name], "SQuAD v1.1")
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
        A `tf.data.Dataset` of pairs, or `ClassificationData`.

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
        return builder.as_dataset(split=split, as_supervised=True)
    label = features["label"] if "label" in features else None
    if isinstance(label, tfds.features.ClassLabel) and len(texts) in (1, 2):
        examples = builder.as_dataset(split=split)
        dataset = examples.map(
            lambda example: (
                tuple(example[key] for key in texts),
                tf.cast(example["label"], tf.int32),
            )
        )
        return ClassificationData(dataset, tuple(label.names))
    raise CorpusError(
        f"TFDS {name!r} is neither a translation set (two text supervised keys) nor a "
        "classification set (one or two text features and a 'label'); "
        f"its features: {list(features)}"
    )


# ---------------------------------------------------------------- registry

SOURCES = {
    "ding_de_en": ding_de_en,
    "software_de_en": software_de_en,
    "jane_austen": jane_austen,
    "fine_food_reviews": fine_food_reviews,
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
    tf_models.data.formats.CorpusError: unknown corpus 'wikipedia'; known: ding_de_en, ...
    """
    if name.startswith("tfds:"):
        return tfds_source(name.removeprefix("tfds:"), **kwargs)
    if name not in SOURCES:
        raise CorpusError(
            f"unknown corpus {name!r}; known: {', '.join(SOURCES)}, "
            "or 'tfds:<name>' for TensorFlow Datasets"
        )
    return SOURCES[name](**kwargs)
