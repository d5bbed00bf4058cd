"""Word classes from WordNet: a tagging task on which a small pretraining pays.

Masked LM first learns which slot a word fills: its word class. So a task
whose labels are word classes shows what a few CPU-minutes of pretraining
teach, on words the labelled sentences never contained. The labels come from
a dictionary, not from annotators: WordNet (Princeton's lexical database,
Debian's `wordnet-base` package) lists the nouns, verbs, adjectives and
adverbs of English, and a word gets a class when every reading of it has the
same one ("libraries" -> NOUN, "quickly" -> ADV). Words with several
("free", "file") or none (names, "gtk") get no label: they are read as
context but neither trained on nor scored (`IGNORED_LABEL`). Function
words, numbers and punctuation get their own classes.
"""

import functools
import re
from pathlib import Path

from tf_models.data.debian import debian_package
from tf_models.data.tagging import IGNORED_LABEL

WORD_CLASSES = ("NOUN", "VERB", "ADJ", "ADV", "FUNC", "NUM", "PUNCT")
# Determiners, pronouns, prepositions, conjunctions, auxiliaries and a few
# particles: English's closed classes, which WordNet leaves out (or lists
# only through rare readings: "a" the letter, "it" information technology).
FUNCTION_WORDS = frozenset("""
a an the this that these those some any each every no all both either neither
i me my mine you your yours he him his she her hers it its we us our ours they them their theirs one ones
who whom whose which what where when why how whether if then than because although though while
and or but nor so yet for of in on at by with from to into onto upon about above below over under between
among through during before after since until till against without within along across around behind beyond
near off out up down via per as like unlike
is am are was were be been being do does did done has have had having
will would shall should can could may might must not also too very just only
""".split())
# WordNet's own rules (morphy) for the base form of an inflected word.
_ENDINGS = {
    "noun": (("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"), ("men", "man"),
             ("ies", "y")),
    "verb": (("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", "")),
    "adj": (("er", ""), ("est", ""), ("er", "e"), ("est", "e")),
    "adv": (),
}
_CLASS_OF_FILE = {"noun": "NOUN", "verb": "VERB", "adj": "ADJ", "adv": "ADV"}
WORD_PATTERN = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+|[^\sa-z\d]")


@functools.lru_cache(maxsize=1)
def wordnet_lexicon(folder=None):
    """WordNet's lemmas and irregular forms, by part of speech.

    Args:
        folder: a folder with WordNet's `index.noun`, ..., `noun.exc`, ...
            files; default: Debian's `wordnet-base`, fetched once with
            `debian_package`.

    Returns:
        `{part: (lemmas, exceptions)}` for `noun`, `verb`, `adj`, `adv`:
        a frozenset of single-word lemmas and a dict from an irregular form
        to its base forms ("mice" -> ("mouse",)).
    """
    folder = Path(folder) if folder else debian_package("wordnet-base") / "usr" / "share" / "wordnet"
    lexicon = {}
    for part in _CLASS_OF_FILE:
        with open(folder / f"index.{part}", encoding="utf-8") as index:
            # Lines that start with a space are the licence; "_" joins collocations.
            lemmas = frozenset(line.split(" ", 1)[0] for line in index
                               if not line.startswith(" ") and "_" not in line.split(" ", 1)[0])
        exceptions = {}
        with open(folder / f"{part}.exc", encoding="utf-8") as irregular:
            for line in irregular:
                form, *bases = line.split()
                exceptions[form] = tuple(bases)
        lexicon[part] = (lemmas, exceptions)
    return lexicon


def word_class(word, lexicon):
    """The class of a lower-case word, or None when it has no single one.

    Args:
        word: one lower-case word, number or punctuation mark.
        lexicon: `wordnet_lexicon()`.

    Returns:
        One of `WORD_CLASSES`, or None: a word WordNet does not list, or
        lists under more than one part of speech.

    Example:
    >>> lexicon = {"noun": (frozenset({"library", "file"}), {}), "verb": (frozenset({"file"}), {}),
    ...            "adj": (frozenset(), {}), "adv": (frozenset({"quickly"}), {})}
    >>> [word_class(w, lexicon) for w in ("libraries", "file", "quickly", "the", "42", ".", "gtk")]
    ['NOUN', None, 'ADV', 'FUNC', 'NUM', 'PUNCT', None]
    """
    if word in FUNCTION_WORDS:
        return "FUNC"
    if word.isdigit():
        return "NUM"
    if not any(character.isalnum() for character in word):
        return "PUNCT"
    classes = set()
    for part, (lemmas, exceptions) in lexicon.items():
        bases = {word, *exceptions.get(word, ())}
        bases.update(word[: -len(end)] + base for end, base in _ENDINGS[part]
                     if word.endswith(end) and len(word) > len(end))
        if bases & lemmas:
            classes.add(_CLASS_OF_FILE[part])
    return classes.pop() if len(classes) == 1 else None


def word_class_sentences(sentences, lexicon, min_words=4, max_words=40):
    """Sentences as `(words, tags)` for a `TaggingData`: lower-case words
    (`WORD_PATTERN`), each tagged with the index of its class in
    `WORD_CLASSES`, or `IGNORED_LABEL` when it has none.

    Sentences outside `min_words` to `max_words` words are dropped.

    Example:
    >>> lexicon = {"noun": (frozenset({"game"}), {}), "verb": (frozenset(), {}),
    ...            "adj": (frozenset({"fast"}), {}), "adv": (frozenset(), {})}
    >>> word_class_sentences(["A fast game for 2 players!"], lexicon)
    ([['a', 'fast', 'game', 'for', '2', 'players', '!']], [[4, 2, 0, 4, 5, -1, 6]])
    """
    words, tags = [], []
    for sentence in sentences:
        found = WORD_PATTERN.findall(sentence.lower())
        if min_words <= len(found) <= max_words:
            classes = [word_class(word, lexicon) for word in found]
            words.append(found)
            tags.append([IGNORED_LABEL if c is None else WORD_CLASSES.index(c) for c in classes])
    return words, tags
