"""What the score columns hold, and thresholds on them: checked, then compiled into parameterised SQL.

The columns are ``db.schema.SCORE_COLUMNS``. This module knows their ranges and short names, refuses an
impossible threshold with a sentence naming it, and turns ``{column: value}`` bounds into SQL clauses
(a NULL score fails its check: a comparison with NULL is never true). Recipes (``curation.recipe``) and
the scoring gate (``pipeline.critics.gate``) both build on it.
"""

from __future__ import annotations

import math

from sqlalchemy import ColumnElement, Table

from db.schema import SCORE_COLUMNS

#: Columns whose values are probabilities / similarities in [0, 1] (``ted`` counts tree edits).
UNIT_COLUMNS = frozenset(SCORE_COLUMNS) - {"length_ratio", "ted"}

#: Short names accepted on the command line and in the studio.
ALIASES: dict[str, tuple[str, ...]] = {
    "nli": ("nli_forward", "nli_backward"),
    "rouge": ("rouge_l",),
    "length": ("length_ratio",),
    "compression": ("length_ratio",),
    "numbers": ("numbers_ok",),
    "embed": ("embed_cosine",),
    "cosine": ("embed_cosine",),
    "critic": ("learned",),
}


def check_thresholds(mins: dict[str, float], maxs: dict[str, float]) -> None:
    """Raise ``ValueError`` naming the first impossible threshold: an unknown score, a value that is not
    a finite number, out of its column's range, or a min above its max."""
    for bound, limits in (("min", mins), ("max", maxs)):
        for column, value in limits.items():
            if column not in SCORE_COLUMNS:
                raise ValueError(
                    f"Unknown score {column!r} in --{bound}; known scores: {', '.join(SCORE_COLUMNS)} "
                    f"(aliases: {', '.join(ALIASES)})."
                )
            if not isinstance(value, (int, float)) or math.isnan(value) or math.isinf(value):
                raise ValueError(f"Threshold {bound} {column}={value!r} is not a finite number.")
            if column in UNIT_COLUMNS and not 0.0 <= value <= 1.0:
                raise ValueError(
                    f"Threshold {bound} {column}={value} is out of range: {column} lies in [0, 1]."
                )
            if value < 0:
                raise ValueError(
                    f"Threshold {bound} {column}={value} is negative; {column} is never negative."
                )
    for column in set(mins) & set(maxs):
        if mins[column] > maxs[column]:
            raise ValueError(
                f"Impossible thresholds: min {column}={mins[column]} is above max {column}={maxs[column]}."
            )


def threshold_clauses(
    table: Table, mins: dict[str, float], maxs: dict[str, float]
) -> list[ColumnElement[bool]]:
    """``column >= :value`` per min and ``column <= :value`` per max over ``table`` (values are bound
    parameters, never SQL text)."""
    clauses = [table.c[column] >= value for column, value in mins.items()]
    clauses += [table.c[column] <= value for column, value in maxs.items()]
    return clauses
