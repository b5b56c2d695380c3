"""Pairing: every unordered pair of distinct first sentences sampled from the same context.

Identical sentences are merged first (the earliest sample keeps the text). Which sentence becomes the
source depends on the task: for ``paraphrase`` the earlier sample, for ``summary`` the longer sentence
(a summary must be shorter than what it summarises; ties keep the earlier sample as source).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any

from db.types import TASKS, Pair


@dataclass(frozen=True)
class CandidateSentence:
    """A stored first sentence: its row id (if stored), which sample it was, and its text."""

    id: int | None
    sample_index: int
    text: str


def distinct_sentences(sentences: list[CandidateSentence]) -> list[CandidateSentence]:
    """Drop repeated texts, keeping the earliest sample of each; ordered by sample index."""
    seen: set[str] = set()
    out = []
    for sentence in sorted(sentences, key=lambda s: s.sample_index):
        if sentence.text not in seen:
            seen.add(sentence.text)
            out.append(sentence)
    return out


def orient(first: CandidateSentence, second: CandidateSentence, task: str):
    """(source, target) for two sentences, ``first`` being the earlier sample."""
    if task == "summary" and len(second.text) > len(first.text):
        return second, first
    return first, second


def make_pairs(
    sentences: list[CandidateSentence],
    task: str,
    *,
    context_id: int | None = None,
    round: int = 0,
    provenance: dict[str, Any] | None = None,
) -> list[Pair]:
    """All candidate pairs of one context's sentences (n distinct sentences give n(n-1)/2 pairs).

    ``provenance`` (teacher, sampling parameters, seed, ...) is copied onto every pair, with the two
    sample indices added.
    """
    if task not in TASKS:
        raise ValueError(f"Unknown task {task!r}; use one of: {', '.join(TASKS)}.")
    pairs = []
    for first, second in combinations(distinct_sentences(sentences), 2):
        source, target = orient(first, second, task)
        pairs.append(
            Pair(
                source=source.text,
                target=target.text,
                task=task,
                context_id=context_id,
                source_sentence_id=source.id,
                target_sentence_id=target.id,
                origin="generated",
                round=round,
                provenance={
                    **(provenance or {}),
                    "source_sample": source.sample_index,
                    "target_sample": target.sample_index,
                },
            )
        )
    return pairs
