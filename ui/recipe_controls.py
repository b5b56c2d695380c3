"""The Curate page's controls <-> a ``Recipe``: one (enabled, value) pair per threshold, plus the task,
dedup and the numbers check. Gradio-free, so the mapping is tested on its own.

Control values arrive unprocessed from the browser or the API (``"abc"`` is possible), so every value is
checked and a bad one raises ``FormError`` naming the control.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from curation.recipe import TED_MIN, Recipe
from db.types import TASKS
from ui.forms import FormError, as_float, choice


@dataclass(frozen=True)
class Threshold:
    """One slider on the Curate page."""

    bound: str  # min | max
    column: str
    label: str
    low: float
    high: float
    step: float
    fallback: float  # slider position when the recipe leaves this check off


THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("min", "nli_forward", "NLI source ⇒ target ≥", 0.0, 1.0, 0.01, 0.75),
    Threshold("min", "nli_backward", "NLI target ⇒ source ≥", 0.0, 1.0, 0.01, 0.75),
    Threshold("min", "embed_cosine", "Embedding cosine ≥", 0.0, 1.0, 0.01, 0.8),
    Threshold("min", "learned", "Learned critic ≥ (impossible critic train)", 0.0, 1.0, 0.01, 0.5),
    Threshold("max", "rouge_l", "ROUGE-L ≤ (dissimilarity)", 0.0, 1.0, 0.01, 0.75),
    Threshold("min", "length_ratio", "Length ratio ≥", 0.0, 3.0, 0.05, 0.8),
    Threshold("max", "length_ratio", "Length ratio ≤ (compression in summary mode)", 0.0, 3.0, 0.05, 1.5),
    Threshold("min", "ted", "Tree edit distance ≥ (syntax diversity)", 0.0, 60.0, 1.0, TED_MIN),
)

#: Number of values ``controls_from_recipe`` returns / ``recipe_from_controls`` takes.
N_CONTROLS = 3 + 2 * len(THRESHOLDS)


def controls_from_recipe(recipe: Recipe) -> list[Any]:
    """``[task, dedup, numbers_on, on_1, value_1, on_2, value_2, ...]`` for the page's components."""
    values: list[Any] = [recipe.task, recipe.dedup, "numbers_ok" in recipe.min]
    for t in THRESHOLDS:
        limits = getattr(recipe, t.bound)
        values += [t.column in limits, float(limits.get(t.column, t.fallback))]
    return values


def _as_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1, "true", "false", "True", "False"):
        return value in (1, "true", "True")
    raise FormError(f"{name} must be true or false, not {value!r}.")


def recipe_from_controls(values: list[Any] | tuple[Any, ...]) -> Recipe:
    """Build (and validate) the recipe the controls describe; ``FormError`` names a bad control."""
    if len(values) != N_CONTROLS:
        raise FormError(f"Expected {N_CONTROLS} control values, got {len(values)}.")
    task = choice(values[0], "Task", TASKS)
    dedup = _as_bool(values[1], "Dedup")
    mins: dict[str, float] = {}
    maxs: dict[str, float] = {}
    if _as_bool(values[2], "Numbers check"):
        mins["numbers_ok"] = 1.0
    for index, t in enumerate(THRESHOLDS):
        enabled, raw = values[3 + 2 * index], values[4 + 2 * index]
        if not _as_bool(enabled, f"'{t.label}' switch"):
            continue
        value = as_float(raw, f"Threshold '{t.label}'", low=t.low, high=t.high)
        (mins if t.bound == "min" else maxs)[t.column] = value
    try:
        return Recipe(task, mins, maxs, dedup)
    except ValueError as exc:
        raise FormError(str(exc)) from None
