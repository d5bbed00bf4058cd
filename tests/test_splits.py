"""Source-disjoint splits: no held-out source sentence reaches training."""

import pytest

from tf_models.data.splits import drop_held_out_sources, source_key, split_by_source


def keys(pairs):
    return {source_key(source) for source, _ in pairs}


def corpus():
    """60 sources; every third has two more translations, and one pair is repeated."""
    pairs = []
    for i in range(60):
        pairs.append((f"Satz Nummer {i}.", f"Sentence number {i}."))
        if i % 3 == 0:
            pairs += [(f"satz nummer {i}", f"Sentence no. {i}"), (f"Satz  Nummer {i}!", f"Line {i}.")]
    return pairs + [("Satz Nummer 1.", "Sentence number 1.")]


def test_no_held_out_source_in_training():
    train, validation, test, report = split_by_source(corpus(), test_size=10, validation_size=5, seed=3)
    assert len(test) == 10 and len(validation) == 5
    assert not keys(train) & keys(test) and not keys(train) & keys(validation)
    assert not keys(test) & keys(validation)
    # Held-out splits keep one translation per source; training keeps them all.
    assert len(keys(test)) == len(test) and len(keys(validation)) == len(validation)
    assert report.sources == 60 and report.removed_duplicates == 1
    repeated_held_out = sum(int(s.split()[2].strip(".!")) % 3 == 0 for s, _ in test + validation)
    assert report.removed_held_out_repeats == 2 * repeated_held_out
    assert len(train) + len(validation) + len(test) + report.removed_held_out_repeats + 1 == len(corpus())
    assert "60 distinct sources" in str(report)


def test_split_depends_on_the_seed_only():
    first = split_by_source(corpus(), 10, 5, seed=0)
    assert first == split_by_source(corpus(), 10, 5, seed=0)
    assert first[2] != split_by_source(corpus(), 10, 5, seed=1)[2]


def test_too_few_sources():
    with pytest.raises(ValueError, match="3 distinct sources"):
        split_by_source([("a", "b"), ("c", "d"), ("e", "f")], test_size=2, validation_size=1)


def test_fixed_splits_drop_training_repeats_of_held_out_sources():
    train = [("A dog runs.", "Ein Hund rennt."), ("A cat.", "Eine Katze."), ("A cat.", "Eine Katze."),
             ("a dog runs", "Ein Hund läuft.")]
    kept, report = drop_held_out_sources(train, [("A dog runs!", "Hund.")], [])
    assert kept == [("A cat.", "Eine Katze.")]
    assert report.removed_duplicates == 1 and report.removed_from_training == 2
