"""Corpora that Debian ships: fetching a package, reading the two formats
the offline translation sources come in (dictd dictionaries, gettext
catalogues), and apt's own index of package descriptions.

Packages are fetched with the machine's own package manager (`apt-get
download`, then `dpkg-deb -x`) into the cache, so no data is committed and no
internet beyond the package mirror is needed.
"""

import dataclasses
import gzip
import logging
import re
import shutil
import subprocess
import tempfile
import zlib
from collections import Counter
from pathlib import Path

from tf_models.data.downloads import cache_dir
from tf_models.data.records import CorpusError

logger = logging.getLogger(__name__)


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
                "systems pass your own files to the readers of tf_models.data.readers."
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
                "try again, or pass your own files to the readers of tf_models.data.readers."
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


# ---------------------------------------------------- Ding (dictd format)

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


def _ding_entry_spans(index_path, min_words):
    """The `(offset, length)` of the entries of a dictd index whose headword
    may be a sentence of `min_words` words, in dictionary order."""
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
    return sorted(set(spans))


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
    pairs, seen, rejected = [], set(), Counter()
    for offset, length in _ding_entry_spans(index_path, min_words):
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
# The same programs' Simplified Chinese catalogues: LibreOffice ships each
# language in a package of its own; the others hold every language (Claws
# Mail has no zh_CN one). About 4 MB more than the German packages.
SOFTWARE_MESSAGE_PACKAGES_ZH_CN = ("libreoffice-l10n-zh-cn",) + SOFTWARE_MESSAGE_PACKAGES[1:]
# Catalogue files that are lists of names, not messages.
_NAME_CATALOGUES = re.compile(r"timezones|iso_|countries|languages", re.IGNORECASE)
# Keyboard accelerators: GTK's "_Open", LibreOffice's "~Open", Qt's "&Open";
# Chinese (and Japanese, Korean) catalogues put the letter in brackets after
# the word, "打开(_O)", sometimes full-width "打开（_O）".
_ACCELERATOR = re.compile(r"\s*[(（][_~&][^\s)）][)）]|[_~&](?=\w)")
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
    >>> clean_message("打开文件(_O)")
    '打开文件'
    """
    return " ".join(_ACCELERATOR.sub("", text).split())


def software_message_pairs(catalogues, min_words=2, max_words=15):
    """English-German (or English-Chinese, ...) message pairs from gettext
    `.mo` catalogues.

    A pair is a catalogue entry's English `msgid` and its translation `msgstr`,
    both cleaned with `clean_message`. Kept when it has no plural forms,
    neither side holds a placeholder, markup, command-line option or an
    underscore inside a word (an identifier such as `show_all`, and now and
    then a mid-word accelerator; see `_MESSAGE_UNSAFE`), the English has
    `min_words` to `max_words` words,
    and the translation differs from the English (an untranslated entry is
    a copy). The same English message in several catalogues keeps its first
    translation, so every English message appears once.

    Args:
        catalogues: paths of one language's `.mo` files, read with polib.
        min_words: fewest English words.
        max_words: most English words.

    Returns:
        A list of `(english, translation)` string pairs, in catalogue order.

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
            english, translation = clean_message(entry.msgid), clean_message(entry.msgstr)
            if _MESSAGE_UNSAFE.search(entry.msgid) or _MESSAGE_UNSAFE.search(entry.msgstr):
                rejected["placeholders, markup or options"] += 1
            elif not min_words <= len(english.split()) <= max_words:
                rejected[f"not {min_words}-{max_words} words"] += 1
            elif english == translation:
                rejected["translation same as English"] += 1
            elif english in seen:
                rejected["English seen before"] += 1
            else:
                seen.add(english)
                pairs.append((english, translation))
    logger.info(
        "software messages: kept %d pairs; rejected %s",
        len(pairs), ", ".join(f"{count} ({reason})" for reason, count in rejected.items()),
    )
    return pairs


def software_catalogues(packages=SOFTWARE_MESSAGE_PACKAGES, language="de"):
    """The `language` gettext catalogues (`.mo`) of Debian `packages`
    (`"de"`, `"zh_CN"`, ...), fetched into the cache with `debian_package`,
    name lists left out."""
    catalogues = []
    for package in packages:
        tree = debian_package(package)
        for path in sorted(tree.rglob(f"{language}/LC_MESSAGES/*.mo")):
            if not _NAME_CATALOGUES.search(path.name):
                catalogues.append(path)
    if not catalogues:
        raise CorpusError(f"no {language!r} catalogues in the Debian packages {list(packages)}")
    return catalogues



# ------------------------------------------------- package descriptions (apt's index)

# What apt-get writes into a lists folder: the package index of each suite
# and component (Package, Source, Section, the one-line Description and the
# Description-md5 of the long one) and, with Acquire::Languages=en, the
# English long descriptions keyed by that md5.
_PACKAGES_FILE = re.compile(r"_binary-[^_]+_Packages(\.\w+)?$")
_TRANSLATION_FILE = re.compile(r"_i18n_Translation-en(\.\w+)?$")


@dataclasses.dataclass(frozen=True)
class PackageDescription:
    """One package's description in apt's index.

    Attributes:
        package: the binary package name, e.g. `"0ad"`.
        source: the source package it is built from (packages built from one
            source share text, so splits go by source).
        section: its archive section, e.g. `"games"` (an Ubuntu component
            prefix such as `universe/` removed).
        summary: the one-line description.
        paragraphs: the long description, a tuple of paragraphs.
    """

    package: str
    source: str
    section: str
    summary: str
    paragraphs: tuple

    @property
    def text(self):
        """The whole description as one string: the summary, then the paragraphs."""
        return " ".join((self.summary.rstrip(".") + ".", *self.paragraphs))


def apt_package_index():
    """This machine's apt package index with English descriptions, in the cache.

    Runs `apt-get update` once with its lists folder in the cache (not
    the system's) and `Acquire::Languages=en`, so that the long descriptions
    (`Translation-en`) come too: about 30 MB from the machine's own package
    mirrors (Debian bookworm: 61,000 descriptions, 3.8 million words). Needs
    no root rights. Writes into a temporary folder and renames it into place,
    so an interrupted update leaves nothing behind.

    Returns:
        The lists folder.

    Raises:
        CorpusError: when apt-get is missing or no English descriptions came.
    """
    root = cache_dir() / "apt-index"
    if (root / "lists").is_dir():
        return root / "lists"
    if shutil.which("apt-get") is None:
        raise CorpusError("apt-get not found: the package descriptions come from apt's index (Debian, Ubuntu).")
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".update-", dir=root))
    try:
        (work / "lists" / "partial").mkdir(parents=True)
        options = {"Dir::State::Lists": work / "lists", "Dir::Cache": work / "cache", "Acquire::Languages": "en",
                   "Debug::NoLocking": "1"}
        command = ["apt-get", "update"] + [f"-o{name}={value}" for name, value in options.items()]
        result = subprocess.run(command, capture_output=True, text=True)
        if not any(_TRANSLATION_FILE.search(path.name) for path in (work / "lists").iterdir()):
            raise CorpusError(f"`apt-get update` brought no English package descriptions (exit "
                              f"{result.returncode}): {(result.stderr or result.stdout).strip()[-500:]}")
        try:
            (work / "lists").rename(root / "lists")
        except OSError:
            if not (root / "lists").is_dir():  # else another process got there first
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return root / "lists"


def _index_lines(path):
    """The lines of an apt index file, compressed or not (`apt-helper cat-file`
    reads every compression apt writes: lz4, xz, gzip, ...)."""
    # apt's list names are full of dots ("deb.debian.org_debian_..."): only
    # a compression suffix says the file needs decompressing.
    if path.suffix not in (".lz4", ".xz", ".gz", ".bz2", ".lzma", ".zst"):
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    helper = Path("/usr/lib/apt/apt-helper")
    if not helper.exists():
        raise CorpusError(f"{path} is compressed and {helper} (apt) is not there to read it")
    result = subprocess.run([str(helper), "cat-file", str(path)], capture_output=True)
    if result.returncode != 0:
        raise CorpusError(f"could not read {path}: {result.stderr.decode(errors='replace').strip()[-300:]}")
    return result.stdout.decode("utf-8", errors="replace").splitlines()


def _stanzas(lines):
    """The stanzas of a Debian control file as dicts (continuation lines kept, joined with newlines)."""
    fields, name = {}, None
    for line in lines + [""]:
        if not line.strip():
            if fields:
                yield fields
            fields, name = {}, None
        elif line[0] in " \t" and name:
            fields[name] += "\n" + line
        else:
            name, _, value = line.partition(":")
            fields[name] = value.strip()


def _long_description(text):
    """The paragraphs of a long description (its lines after the first):
    lines joined, ` .` lines between paragraphs."""
    paragraphs, lines = [], []
    for line in text.split("\n")[1:] + [" ."]:
        line = line.strip()
        if line == ".":
            if lines:
                paragraphs.append(" ".join(lines))
            lines = []
        elif line:
            lines.append(line)
    return tuple(paragraphs)


def read_package_descriptions(lists_dir):
    """Every description in an apt lists folder, once per distinct text.

    Packages are read from the `*_Packages` files, their long descriptions
    from the `*_Translation-en` files (matched by `Description-md5`, or read
    from the Packages file when it has them inline). Packages without a long
    description are skipped, and a description shared by several packages
    (same md5, or the same text) is kept once, with the first package's fields.

    Args:
        lists_dir: a folder of apt index files (`apt_package_index()`).

    Returns:
        A list of `PackageDescription`, sorted by package name.

    Example:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "x_binary-amd64_Packages").write_text(
    ...     "Package: 2048\\nSection: games\\nDescription: Slide tiles\\nDescription-md5: 7f\\n")
    >>> _ = (folder / "x_i18n_Translation-en").write_text(
    ...     "Package: 2048\\nDescription-md5: 7f\\nDescription-en: Slide tiles\\n Join equal tiles.\\n")
    >>> read_package_descriptions(folder)[0].text
    'Slide tiles. Join equal tiles.'
    """
    lists_dir = Path(lists_dir)
    long_descriptions = {}
    for path in sorted(p for p in lists_dir.iterdir() if _TRANSLATION_FILE.search(p.name)):
        for fields in _stanzas(_index_lines(path)):
            if "Description-md5" in fields and "Description-en" in fields:
                long_descriptions.setdefault(fields["Description-md5"], fields["Description-en"])
    records, seen = {}, set()
    for path in sorted(p for p in lists_dir.iterdir() if _PACKAGES_FILE.search(p.name)):
        for fields in _stanzas(_index_lines(path)):
            package, description = fields.get("Package"), fields.get("Description", "")
            key = fields.get("Description-md5") or description
            text = long_descriptions.get(key, description)
            summary, paragraphs = text.split("\n", 1)[0].strip(), _long_description(text)
            if not package or package in records or not paragraphs or {key, (summary, paragraphs)} & seen:
                continue
            seen.update((key, (summary, paragraphs)))  # also the same text under another md5 (other line breaks)
            records[package] = PackageDescription(
                package=package,
                source=fields.get("Source", package).split()[0],
                section=fields.get("Section", "").rsplit("/", 1)[-1],
                summary=summary,
                paragraphs=paragraphs,
            )
    if not records:
        raise CorpusError(f"no package descriptions in {lists_dir}")
    logger.info("package descriptions: %d distinct texts from %s", len(records), lists_dir)
    return [records[name] for name in sorted(records)]


def package_split(source, test_share=0.2, validation_share=0.1):
    """`"test"`, `"validation"` or `"train"`: where a source package belongs.

    Decided by a hash of the source name alone, so every binary package of a
    source (which share their text) lands on one side, and the split of a
    package never depends on what else is in the index.

    Example:
    >>> package_split("0ad"), package_split("0ad") == package_split("0ad")
    ('train', True)
    """
    fraction = zlib.crc32(source.encode("utf-8")) % 1000 / 1000
    if fraction < test_share:
        return "test"
    return "validation" if fraction < test_share + validation_share else "train"
