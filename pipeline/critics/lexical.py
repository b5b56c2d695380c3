"""The cheap critics: pure-Python scores that need no model and run on every pair first.

- ``length_ratio``: len(target) / len(source) in characters (the authors' code keeps 0.8-1.5 for
  paraphrase; summary mode keeps < 0.8, the compression critic).
- ``rouge_l``: ROUGE-L F1 between source and target, from Google's ``rouge-score`` package — the
  reference implementation the paper's numbers and most papers' ROUGE come from, so our threshold of
  0.75 means what it means there (its tokenizer lowercases and keeps only ASCII letters and digits).
- ``numbers_ok``: 1.0 when the target invents no number the source lacks (paraphrase: the two sets
  must be equal, since dropping a figure changes the meaning too), else 0.0.

Each returns a float so it can be stored in its score column as is.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

#: "1,000,000.50" (thousands separators) or a plain "42" / "3.14"; a sentence-final "2020." stays 2020.
_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")

CHEAP_COLUMNS: tuple[str, ...] = ("length_ratio", "rouge_l", "numbers_ok")


class CriticError(ValueError):
    """A pair a critic cannot score (recorded on the pair as ``score_error``; the job goes on)."""


def length_ratio(source: str, target: str) -> float:
    """len(target) / len(source), in characters (after stripping surrounding whitespace)."""
    source, target = source.strip(), target.strip()
    if not source:
        raise CriticError("empty source: no length ratio")
    return len(target) / len(source)


@lru_cache(maxsize=1)
def _rouge_l_scorer() -> Any:
    from rouge_score import rouge_scorer  # imports all of nltk (seconds): only when a pair is scored

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def rouge_l(source: str, target: str) -> float:
    """ROUGE-L F1 of target against source (symmetric: F1 does not care which side is the reference)."""
    return float(_rouge_l_scorer().score(source, target)["rougeL"].fmeasure)


def normalise_number(text: str) -> str:
    """One spelling per value: "1,000" -> "1000", "2.50" -> "2.5", "3.0" -> "3", "007" -> "7"."""
    text = text.replace(",", "")
    whole, _, fraction = text.partition(".")
    whole = whole.lstrip("0") or "0"
    fraction = fraction.rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


def numbers_in(text: str) -> set[str]:
    """The numbers a sentence mentions, normalised (digits only; "three" is not a number here)."""
    return {normalise_number(match) for match in _NUMBER.findall(text)}


def numbers_ok(source: str, target: str, task: str = "paraphrase") -> float:
    """1.0 when every number in the target appears in the source (paraphrase: and vice versa), else 0.0."""
    source_numbers, target_numbers = numbers_in(source), numbers_in(target)
    if task == "paraphrase":
        return float(source_numbers == target_numbers)
    return float(target_numbers <= source_numbers)


def cheap_scores(source: str, target: str, task: str, columns: tuple[str, ...] = CHEAP_COLUMNS) -> dict:
    """The requested cheap scores of one pair. Raises ``CriticError`` when the pair cannot be scored."""
    if not target.strip():
        raise CriticError("empty target")
    critics = {
        "length_ratio": lambda: length_ratio(source, target),
        "rouge_l": lambda: rouge_l(source, target),
        "numbers_ok": lambda: numbers_ok(source, target, task),
    }
    return {column: critics[column]() for column in columns}
