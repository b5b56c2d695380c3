"""The one data type that flows through every pipeline block: a candidate pair and its scores."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

#: Teacher-decoding backends (``pipeline.backends``); auto = ctranslate2 on CPU, vllm on CUDA, else torch.
BACKENDS = ("auto", "torch", "ctranslate2", "vllm")

TASKS = ("paraphrase", "summary")


def pair_key(task: str, source: str, target: str) -> str:
    """Stable identity of a pair: one row per (task, source, target) in every database."""
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
