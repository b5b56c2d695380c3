"""Pairing: unordered pairs of distinct sentences within a context, oriented by task."""

from __future__ import annotations

import pytest

from pipeline.pairing import CandidateSentence, make_pairs


def sentences(*texts: str) -> list[CandidateSentence]:
    return [CandidateSentence(id=100 + i, sample_index=i, text=t) for i, t in enumerate(texts)]


def test_every_unordered_pair_of_distinct_sentences_once():
    pairs = make_pairs(sentences("A b c.", "D e f.", "G h i.", "J k l."), "paraphrase", context_id=7)
    assert len(pairs) == 6
    assert len({frozenset((p.source, p.target)) for p in pairs}) == 6
    assert all(p.context_id == 7 and p.origin == "generated" for p in pairs)


def test_identical_sentences_are_merged_first():
    pairs = make_pairs(sentences("Same one.", "Other one.", "Same one.", "Same one."), "paraphrase")
    assert [(p.source, p.target) for p in pairs] == [("Same one.", "Other one.")]
    assert pairs[0].source_sentence_id == 100  # the earliest sample keeps the text


def test_paraphrase_source_is_the_earlier_sample():
    (pair,) = make_pairs(sentences("A much longer first sentence.", "Short one."), "paraphrase")
    assert (pair.source, pair.target) == ("A much longer first sentence.", "Short one.")
    (pair,) = make_pairs(sentences("Short one.", "A much longer second sentence."), "paraphrase")
    assert (pair.source, pair.target) == ("Short one.", "A much longer second sentence.")


def test_summary_source_is_the_longer_sentence():
    (pair,) = make_pairs(sentences("Short one.", "A much longer second sentence."), "summary")
    assert (pair.source, pair.target) == ("A much longer second sentence.", "Short one.")
    assert (pair.source_sentence_id, pair.target_sentence_id) == (101, 100)
    assert pair.task == "summary"


def test_provenance_is_copied_with_sample_indices():
    provenance = {"teacher": "tiny", "sampling": {"temperature": 0.5}, "seed": 3}
    (pair,) = make_pairs(sentences("One two.", "Three four."), "paraphrase", round=2, provenance=provenance)
    assert pair.provenance == {**provenance, "source_sample": 0, "target_sample": 1}
    assert pair.round == 2
    assert provenance == {"teacher": "tiny", "sampling": {"temperature": 0.5}, "seed": 3}


def test_fewer_than_two_distinct_sentences_make_no_pair():
    assert make_pairs(sentences("Only.", "Only."), "paraphrase") == []
    assert make_pairs([], "summary") == []


def test_unknown_task_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown task 'translate'"):
        make_pairs(sentences("A b.", "C d."), "translate")
