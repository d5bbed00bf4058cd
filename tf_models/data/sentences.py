"""A rule-based sentence splitter, for corpora that come as running text."""

import re

# ---------------------------------------------------------------- sentences

# A sentence ends at . ! or ? (maybe followed by closing quotes or brackets)
# when whitespace and then an opening quote or bracket, or an upper-case
# letter (ASCII or Latin-1, so German's Ä, Ö, Ü count), follow. Lower-case
# after the gap ('"Why?" she asked.') means the sentence goes on.
_SENTENCE_BREAK = re.compile(r"""[.!?]+["'’”)\]]*(?=\s+(["'‘“„(\[_]|[A-ZÀ-ÖØ-Þ]))""")
_LAST_WORD = re.compile(r"[\w.]*$")
# Titles and abbreviations whose full stop rarely ends a sentence.
ABBREVIATIONS = frozenset(
    "Mr Mrs Ms Messrs Dr St Mt Prof Rev Capt Col Gen Lt Sgt Gov Hon Jr Sr vs e.g i.e".split()
)


def split_sentences(text):
    """Splits text into sentences with a simple, predictable rule.

    A sentence ends at `.`, `!` or `?` (and any closing quotes or brackets
    after it) when whitespace and then an upper-case letter or an opening
    quote or bracket follow. A full stop does not end a sentence after a known
    abbreviation (`ABBREVIATIONS`: "Mr.", "Mrs.", "Dr.", "St.", ...) or after
    a single capital, which is taken for an initial ("J. Smith"). It is no
    match for a trained splitter (it splits '"Why?" Emma asked.' in two), but
    it is fast, has no data files and is easy to reason about.

    Args:
        text: a string, e.g. one line or paragraph.

    Returns:
        A list of the non-empty sentences, stripped of surrounding whitespace.

    Example:
    >>> split_sentences('Mr. Knightley came. "Is it true?" he asked. It was.')
    ['Mr. Knightley came.', '"Is it true?" he asked.', 'It was.']
    """
    sentences, start = [], 0
    for match in _SENTENCE_BREAK.finditer(text):
        # The word before the stop, also when glued on as in "was--Mrs.".
        before = text[max(start, match.start() - 30) : match.start()]  # abbreviations are short
        last_word = _LAST_WORD.search(before).group().strip("._")
        is_abbreviation = match.group() == "." and (
            last_word in ABBREVIATIONS or (len(last_word) == 1 and last_word.isupper())
        )
        if not is_abbreviation:
            sentences.append(text[start : match.end()].strip())
            start = match.end()
    sentences.append(text[start:].strip())
    return [sentence for sentence in sentences if sentence]

