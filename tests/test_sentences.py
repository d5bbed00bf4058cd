"""The rule-based sentence splitter."""

import pytest

from tf_models.data.sentences import split_sentences


@pytest.mark.parametrize(
    "text, expected",
    [
        ("It rained. We stayed in.", ["It rained.", "We stayed in."]),
        ("Mr. and Mrs. Smith met Dr. Jones at St. Paul's. Then they left.",
         ["Mr. and Mrs. Smith met Dr. Jones at St. Paul's.", "Then they left."]),
        ("J. R. R. Tolkien wrote. Yes!", ["J. R. R. Tolkien wrote.", "Yes!"]),
        ('"Why?" she asked. "Because." He left.', ['"Why?" she asked.', '"Because."', "He left."]),
        ("Is it? Yes! No... Maybe.", ["Is it?", "Yes!", "No...", "Maybe."]),
        ("it was--Mrs. Elton. Ärger folgte.", ["it was--Mrs. Elton.", "Ärger folgte."]),
        ("Pi is 3.14 today. e.g. this stays.", ["Pi is 3.14 today. e.g. this stays."]),
        ("No end in sight", ["No end in sight"]),
        ("   ", []),
    ],
)
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected
