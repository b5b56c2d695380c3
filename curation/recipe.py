"""A curation recipe: thresholds per score column plus dedup, as data.

A recipe compiles to a parameterised SQL predicate (``where``) and explains a single pair's fate
(``reasons``). The same recipe drives the studio, exports, versions and training runs, and its content
hash is recorded on each of them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, true

from db.scores import ALIASES, check_thresholds, threshold_clauses
from db.types import TASKS

#: The ``ted`` threshold the studio and ``--min ted`` suggest. Not in the default recipe: with
#: link-grammar, TED-F does not separate near-copies from rewrites (README, "The ted critic").
TED_MIN = 10.0

DEDUP_REASON = "duplicate"


def reason_low(column: str) -> str:
    return f"{column}_low"


def reason_high(column: str) -> str:
    return f"{column}_high"


def reason_missing(column: str) -> str:
    return f"{column}_missing"


@dataclass(frozen=True)
class Recipe:
    """Keep a pair of ``task`` when every ``min`` column is >= its value and every ``max`` column is <= its
    value; a NULL score fails its check. ``dedup`` keeps one pair per equivalence group (the one with the
    highest nli_forward + nli_backward, or embed_cosine when NLI is absent)."""

    task: str = "paraphrase"
    min: dict[str, float] = field(default_factory=dict)
    max: dict[str, float] = field(default_factory=dict)
    dedup: bool = True

    def __post_init__(self) -> None:
        self.validate()

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def default(cls, task: str = "paraphrase", semantic: str = "nli") -> Recipe:
        """The paper's thresholds (method.md). ``semantic="embedding"`` replaces NLI by embedding cosine,
        for databases scored without an NLI model."""
        if semantic not in ("nli", "embedding"):
            raise ValueError(f"semantic must be 'nli' or 'embedding', not {semantic!r}")
        if task == "summary":
            mins = {"nli_forward": 0.75} if semantic == "nli" else {"embed_cosine": 0.6}
            return cls(task, {**mins, "numbers_ok": 1.0}, {"length_ratio": 0.8, "rouge_l": 0.75})
        mins = {"nli_forward": 0.75, "nli_backward": 0.75} if semantic == "nli" else {"embed_cosine": 0.8}
        return cls(
            task, {**mins, "length_ratio": 0.8, "numbers_ok": 1.0}, {"length_ratio": 1.5, "rouge_l": 0.75}
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recipe:
        unknown = set(data) - {"task", "min", "max", "dedup"}
        if unknown:
            raise ValueError(f"Unknown recipe field(s): {', '.join(sorted(unknown))}.")
        return cls(
            task=data.get("task", "paraphrase"),
            min={k: float(v) for k, v in (data.get("min") or {}).items()},
            max={k: float(v) for k, v in (data.get("max") or {}).items()},
            dedup=bool(data.get("dedup", True)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "min": dict(sorted(self.min.items())),
            "max": dict(sorted(self.max.items())),
            "dedup": self.dedup,
        }

    @property
    def hash(self) -> str:
        """Content hash: equal recipes hash equal, whatever order their thresholds were given in."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]

    def with_threshold(self, bound: str, column: str, value: float | None) -> Recipe:
        """A copy with one threshold set (``value=None`` switches that check off)."""
        if bound not in ("min", "max"):
            raise ValueError(f"bound must be 'min' or 'max', not {bound!r}")
        limits = dict(getattr(self, bound))
        if value is None:
            limits.pop(column, None)
        else:
            limits[column] = float(value)
        return Recipe(self.task, **{**{"min": self.min, "max": self.max}, bound: limits}, dedup=self.dedup)

    # ---- checks -------------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise ``ValueError`` naming the first impossible setting."""
        if self.task not in TASKS:
            raise ValueError(f"Unknown task {self.task!r}; use one of {', '.join(TASKS)}.")
        check_thresholds(self.min, self.max)

    def reasons(self, scores: dict[str, float | None]) -> list[str]:
        """Why the critics reject a pair with these scores (empty = kept, before dedup and human labels)."""
        out = []
        for column, value in self.min.items():
            score = scores.get(column)
            if score is None:
                out.append(reason_missing(column))
            elif score < value:
                out.append(reason_low(column))
        for column, value in self.max.items():
            score = scores.get(column)
            if score is None:
                if reason_missing(column) not in out:
                    out.append(reason_missing(column))
            elif score > value:
                out.append(reason_high(column))
        return out

    def where(self, table: Table) -> ColumnElement[bool]:
        """The critics' verdict as a parameterised SQL predicate over ``table`` (NULL scores fail)."""
        return and_(true(), table.c.task == self.task, *threshold_clauses(table, self.min, self.max))

    @property
    def semantic_columns(self) -> tuple[str, ...]:
        """The score that ranks pairs inside a dedup group."""
        if "nli_forward" in self.min or "nli_backward" in self.min:
            return ("nli_forward", "nli_backward")
        return ("embed_cosine",)


def parse_thresholds(items: list[str] | None, task: str = "paraphrase") -> dict[str, float]:
    """Parse ``["nli=0.75", "rouge_l=0.7"]`` into ``{column: value}``, expanding aliases.

    ``nli`` means both directions for paraphrase and only source => target for summary.
    """
    out: dict[str, float] = {}
    for item in items or []:
        name, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"Threshold {item!r} is not NAME=VALUE (for example nli=0.75).")
        name = name.strip()
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"Threshold {item!r}: {raw!r} is not a number.") from None
        columns = ALIASES.get(name, (name,))
        if name == "nli" and task == "summary":
            columns = ("nli_forward",)
        for column in columns:
            out[column] = value
    return out


def recipe_from_args(
    task: str, mins: list[str] | None, maxs: list[str] | None, dedup: bool = True, semantic: str = "nli"
) -> Recipe:
    """The default recipe for ``task`` with the user's ``--min``/``--max`` overrides applied."""
    base = Recipe.default(task, semantic)
    return Recipe(
        task,
        {**base.min, **parse_thresholds(mins, task)},
        {**base.max, **parse_thresholds(maxs, task)},
        dedup,
    )
