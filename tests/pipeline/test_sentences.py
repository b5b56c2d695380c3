"""Sentence splitting: what counts as a sentence, and when a growing sample's first sentence is final."""

from __future__ import annotations

import pytest

from pipeline.sentences import completed_sentences, first_sentence, split_sentences


def test_splits_on_terminal_punctuation_and_keeps_it():
    text = "Markets fell on Monday. Did they recover? Nobody knows! And then"
    assert split_sentences(text) == ["Markets fell on Monday.", "Did they recover?", "Nobody knows!"]


@pytest.mark.parametrize(
    "text",
    [
        "The U.S. economy grew 3.5 percent in 2023.",
        "Mr. Smith met Dr. Jones at St. Mary's hospital.",
        "J. R. Smith arrived at 5 p.m. on Friday.",
        "Shares rose 2.75 points to 104.5 on the news.",
    ],
)
def test_abbreviations_initials_and_decimals_do_not_end_a_sentence(text):
    assert split_sentences(text + " Then it rained.") == [text, "Then it rained."]


def test_closing_quotes_stay_with_their_sentence():
    assert split_sentences('He said "no." Then he left.') == ['He said "no."', "Then he left."]


def test_short_pieces_and_unfinished_tails_are_dropped():
    assert split_sentences("1. The storm hit the coast. It was") == ["The storm hit the coast."]
    assert split_sentences("no sentence end here") == []


def test_lowercase_after_a_period_does_not_split():
    assert split_sentences("See e.g. the report. It is long.") == ["See e.g. the report.", "It is long."]


def test_newlines_are_whitespace():
    assert split_sentences("First line\ncontinues here.\nSecond one.") == [
        "First line continues here.",
        "Second one.",
    ]


def test_first_sentence():
    assert first_sentence(" The storm hit the coast. Thousands lost power.") == "The storm hit the coast."
    assert first_sentence("no end") is None


@pytest.mark.parametrize(
    ("growing", "final"),
    [
        ("in the city.", ["in the city."]),
        ("Is it true?", ["Is it true?"]),
        ("He moved to the U.S.", []),  # "U.S. Army" could follow
        ("Prices rose to 3.", []),  # "3.5" could follow
        ("It was signed by J.", []),  # an initial
        ('He said "no.', []),  # the closing quote is still to come
        ('He said "no."', ['He said "no."']),
    ],
)
def test_completed_sentences_only_returns_sentences_that_cannot_change(growing, final):
    assert completed_sentences(growing) == final


def test_completed_sentence_agrees_with_splitting_the_longer_text():
    longer = "The storm hit the coast. Thousands lost power."
    for cut in range(1, len(longer) + 1):
        done = completed_sentences(longer[:cut])
        if done:
            assert done[0] == split_sentences(longer)[0]


def test_model_output_loses_nul_characters_no_database_could_store():
    assert split_sentences("The cat\x00 sat on\x00the mat. It\x00 slept.") == [
        "The cat sat onthe mat.",
        "It slept.",
    ]
    assert completed_sentences("A\x00 storm hit the coast. Then") == ["A storm hit the coast."]
