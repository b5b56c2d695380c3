"""The loose pre-gate and the "pending" predicates that make scoring stateless.

A score column that is NULL is work still to do; a stored score is never recomputed. The expensive
critics only see pairs that pass a loose gate on the scores computed before them, so a pair that no
sensible recipe would keep (a near copy, a sentence twice as long, two unrelated sentences) never costs
a model call. The gate is far looser than the default recipes (method.md), so moving a threshold in
the studio rarely reaches a pair the gate held back; when it does, rerun scoring with a looser gate
(``--gate-min embed_cosine=none`` switches one check off) and only the newly admitted pairs are scored.

Default gate per task (a NULL score fails a check, as in recipes):

=========  ====================================================  ===========================================
task       before the embedder (cheap scores)                    before NLI (adds embed_cosine)
=========  ====================================================  ===========================================
paraphrase 0.5 <= length_ratio <= 2.0, rouge_l <= 0.9            embed_cosine >= 0.4
summary    length_ratio <= 1.0, rouge_l <= 0.9                   embed_cosine >= 0.4
=========  ====================================================  ===========================================

The embed_cosine check is the "hopeless" test: all-MiniLM-L6-v2 gives ~0.9 for a paraphrase and ~0.1
for unrelated sentences, and a pair under 0.4 has essentially no chance of 0.75 entailment both ways.
It applies only when the job runs an embedder.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, true

from db.schema import pairs
from db.scores import check_thresholds, threshold_clauses
from db.types import TASKS
from pipeline.critics.lexical import CHEAP_COLUMNS

DEFAULT_GATES: dict[str, dict[str, dict[str, float]]] = {
    "paraphrase": {
        "min": {"length_ratio": 0.5, "embed_cosine": 0.4},
        "max": {"length_ratio": 2.0, "rouge_l": 0.9},
    },
    "summary": {"min": {"embed_cosine": 0.4}, "max": {"length_ratio": 1.0, "rouge_l": 0.9}},
}


def _merged(defaults: dict[str, float], overrides: dict[str, Any] | None) -> dict[str, float]:
    """Defaults with the user's values on top; a value of None switches that check off."""
    out = dict(defaults)
    for column, value in (overrides or {}).items():
        if value is None:
            out.pop(column, None)
        else:
            out[column] = float(value)
    return out


@dataclass(frozen=True)
class TaskGate:
    """One task's gate: ``min`` / ``max`` thresholds on score columns (checked like a recipe's)."""

    min: dict[str, float]
    max: dict[str, float]

    def __post_init__(self) -> None:
        check_thresholds(self.min, self.max)


@dataclass(frozen=True)
class Gate:
    """One threshold set per task, applied stage by stage to the columns already computed."""

    per_task: dict[str, TaskGate]

    @classmethod
    def from_params(cls, overrides: dict[str, Any] | None = None) -> Gate:
        """The default gates with ``{"min": {...}, "max": {...}}`` overrides applied to every task.

        Raises ``ValueError`` for an unknown bound, column or an out-of-range value.
        """
        overrides = overrides or {}
        unknown = set(overrides) - {"min", "max"}
        if unknown:
            raise ValueError(f"Unknown gate bound(s) {', '.join(sorted(unknown))}; use 'min' and 'max'.")
        return cls(
            {
                task: TaskGate(
                    _merged(DEFAULT_GATES[task]["min"], overrides.get("min")),
                    _merged(DEFAULT_GATES[task]["max"], overrides.get("max")),
                )
                for task in TASKS
            }
        )

    def task_predicate(self, task: str, columns: Iterable[str]) -> ColumnElement[bool]:
        """``task = :task`` and the gate's checks on ``columns`` only."""
        allowed = set(columns)
        gate = self.per_task[task]
        mins = {c: v for c, v in gate.min.items() if c in allowed}
        maxs = {c: v for c, v in gate.max.items() if c in allowed}
        return and_(true(), pairs.c.task == task, *threshold_clauses(pairs, mins, maxs))


def _scorable() -> ColumnElement[bool]:
    return pairs.c.score_error.is_(None)


def cheap_pending() -> ColumnElement[bool]:
    """Pairs missing any cheap score."""
    return and_(_scorable(), or_(*[pairs.c[c].is_(None) for c in CHEAP_COLUMNS]))


def embedding_pending(gate: Gate) -> ColumnElement[bool]:
    """Pairs without embed_cosine whose cheap scores pass the gate."""
    gated = or_(false(), *[gate.task_predicate(task, CHEAP_COLUMNS) for task in TASKS])
    return and_(_scorable(), pairs.c.embed_cosine.is_(None), gated)


def nli_directions_missing(task: str) -> ColumnElement[bool]:
    """A paraphrase needs both directions, a summary only source => target."""
    if task == "paraphrase":
        return or_(pairs.c.nli_forward.is_(None), pairs.c.nli_backward.is_(None))
    return pairs.c.nli_forward.is_(None)


def nli_pending(gate: Gate, with_embeddings: bool) -> ColumnElement[bool]:
    """Pairs missing a needed NLI direction whose earlier scores pass the gate."""
    columns = (*CHEAP_COLUMNS, "embed_cosine") if with_embeddings else CHEAP_COLUMNS
    per_task = [and_(nli_directions_missing(t), gate.task_predicate(t, columns)) for t in TASKS]
    return and_(_scorable(), or_(false(), *per_task))


def ted_pending(gate: Gate, with_embeddings: bool) -> ColumnElement[bool]:
    """Paraphrase pairs without ``ted`` (or its recorded error) whose earlier scores pass the gate."""
    columns = (*CHEAP_COLUMNS, "embed_cosine") if with_embeddings else CHEAP_COLUMNS
    return and_(
        _scorable(),
        pairs.c.ted.is_(None),
        pairs.c.ted_error.is_(None),
        gate.task_predicate("paraphrase", columns),
    )
