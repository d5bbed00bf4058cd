"""Held-out splits that do not leak: no test source sentence is seen in training.

Corpora such as dictionaries and software catalogues repeat a source
sentence with several translations (Ding gives "Das ist mir egal." four
English renderings). A split by pair then puts the same source in training
and in test, and the test score measures memory, not translation. These
helpers split by *source*: every pair whose source matches (after
`source_key`) lands on the same side.
"""

import dataclasses
import random
import re

# Trailing punctuation that does not change what is being translated, in
# Latin and in Chinese script ("内存不足。" is "内存不足").
_TRAILING = re.compile(r"[\s.!?:;,…。！？：；，、．]+$")


def source_key(text):
    """The form in which two sources count as the same sentence.

    Case, runs of whitespace and trailing punctuation are ignored.

    Example:
    >>> source_key("Open  File...") == source_key("open file")
    True
    >>> source_key("内存不足。") == source_key("内存不足")
    True
    """
    return _TRAILING.sub("", " ".join(text.split()).casefold())


@dataclasses.dataclass(frozen=True)
class SplitReport:
    """What a source-disjoint split kept and removed.

    Attributes:
        pairs: pairs given.
        sources: distinct sources among them (by `source_key`).
        removed_duplicates: exact duplicate pairs removed.
        removed_held_out_repeats: further translations of held-out sources
            (the held-out splits keep one pair, the first, per source).
        removed_from_training: training pairs whose source is held out
            (only for corpora with fixed splits, see `drop_held_out_sources`).
    """

    pairs: int
    sources: int
    removed_duplicates: int = 0
    removed_held_out_repeats: int = 0
    removed_from_training: int = 0

    def __str__(self):
        return (
            f"{self.pairs} pairs, {self.sources} distinct sources; removed "
            f"{self.removed_duplicates} exact duplicates, {self.removed_held_out_repeats} repeated "
            f"held-out sources, {self.removed_from_training} training pairs with a held-out source"
        )


def split_by_source(pairs, test_size, validation_size, seed=0):
    """Splits `(source, target)` pairs into train, validation and test by source.

    Exact duplicate pairs are removed. Sources (grouped by `source_key`) are
    shuffled with `seed`; the first `test_size` go to test, the next
    `validation_size` to validation, one pair each (the first seen); the
    rest go to training with all their translations.

    Args:
        pairs: a list of `(source, target)` strings.
        test_size: test sources (and pairs).
        validation_size: validation sources (and pairs).
        seed: the shuffle seed.

    Returns:
        `(train, validation, test, report)`: three lists of pairs and a
        `SplitReport`.

    Example:
    >>> pairs = [("Ja.", "Yes."), ("ja", "Yeah."), ("Nein.", "No."), ("Gut.", "Good.")]
    >>> train, val, test, report = split_by_source(pairs, test_size=1, validation_size=1)
    >>> sorted({source_key(s) for s, _ in train} & {source_key(s) for s, _ in test + val})
    []
    >>> report.sources
    3
    """
    unique = list(dict.fromkeys(pairs))
    groups = {}
    for source, target in unique:
        groups.setdefault(source_key(source), []).append((source, target))
    keys = list(groups)
    if test_size + validation_size >= len(keys):
        raise ValueError(
            f"{len(keys)} distinct sources cannot give {test_size} test and {validation_size} "
            "validation sources and leave any for training"
        )
    random.Random(seed).shuffle(keys)
    test_keys = keys[:test_size]
    validation_keys = keys[test_size : test_size + validation_size]
    train = [pair for key in keys[test_size + validation_size :] for pair in groups[key]]
    held_out = test_keys + validation_keys
    report = SplitReport(
        pairs=len(pairs),
        sources=len(keys),
        removed_duplicates=len(pairs) - len(unique),
        removed_held_out_repeats=sum(len(groups[key]) - 1 for key in held_out),
    )
    return train, [groups[k][0] for k in validation_keys], [groups[k][0] for k in test_keys], report


def drop_held_out_sources(train, *held_out):
    """Removes training pairs whose source appears in a held-out split.

    For corpora that come with fixed splits (Multi30k), which are kept as
    published so that scores compare with the literature.

    Returns:
        `(train, report)`: the kept training pairs and a `SplitReport`.

    Example:
    >>> drop_held_out_sources([("A dog.", "Ein Hund."), ("A cat.", "Eine Katze.")],
    ...                       [("a dog", "Ein Hund!")])[0]
    [('A cat.', 'Eine Katze.')]
    """
    blocked = {source_key(source) for split in held_out for source, _ in split}
    unique = list(dict.fromkeys(train))
    kept = [pair for pair in unique if source_key(pair[0]) not in blocked]
    report = SplitReport(
        pairs=len(train),
        sources=len({source_key(source) for source, _ in kept}),
        removed_duplicates=len(train) - len(unique),
        removed_from_training=len(unique) - len(kept),
    )
    return kept, report
