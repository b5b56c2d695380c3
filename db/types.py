"""The data model every layer shares: the tasks, a pair's identity, and the one data type that flows
through every pipeline block, a candidate pair and its scores.

It lives at the bottom (beside the schema) so that ``db``, ``curation`` and ``pipeline`` all import it
from here and none of them imports a package above it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

TASKS = ("paraphrase", "summary")


def pair_key(task: str, source: str, target: str) -> str:
    """Stable identity of a pair: one row per (task, source, target) in every database.

    The three texts are joined with NUL, so a NUL inside one of them would make two pairs share a key
    (``("a\\0b", "c")`` and ``("a", "b\\0c")``). No stored text may contain NUL (PostgreSQL refuses it
    anyway; imports reject it, model output drops it), which keeps this join unambiguous and every key
    already stored valid; a text with NUL is refused here as the last line of defence.
    """
    if "\x00" in task or "\x00" in source or "\x00" in target:
        raise ValueError("A pair's task, source and target may not contain a NUL character (\\u0000).")
    return hashlib.sha1(f"{task}\x00{source}\x00{target}".encode()).hexdigest()


@dataclass
class Pair:
    """A source sentence, a candidate target, where they came from and what the critics said."""

    source: str
    target: str
    task: str = "paraphrase"
    context_id: int | None = None
    source_sentence_id: int | None = None
    target_sentence_id: int | None = None
    origin: str = "generated"  # generated | imported | student
    round: int = 0
    provenance: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    id: int | None = None

    @property
    def key(self) -> str:
        return pair_key(self.task, self.source, self.target)
