"""How well each critic agrees with your labels: ROC AUC with a bootstrap interval, precision and recall at
the recipe's threshold, and the threshold that reaches a target precision. numpy only.

Every score column is oriented so that *higher means "keep"* before ranking: ``rouge_l`` (a copy scores
high) is negated, ``length_ratio`` becomes ``-|log ratio|`` for paraphrases (closest to 1 is best) and
``-ratio`` for summaries (shorter is better). An AUC of 0.5 is chance, 1.0 is a critic that ranks every
accepted pair above every rejected one. Pairs a critic did not score are counted (``unscored``) and left
out of its AUC, precision and recall, never silently mixed in.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from curation.frame import LABEL_ACCEPT, ScoreFrame, get_frame
from curation.recipe import Recipe
from db.schema import SCORE_COLUMNS

BOOTSTRAP_SAMPLES = 1000
MAX_CURVE_POINTS = 200  # points drawn per ROC / precision-recall curve
TWO_SIDED = "length_ratio"  # two-sided in a paraphrase recipe: no single "target precision" threshold


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Probability that a random positive scores above a random negative (ties count one half), i.e. the
    area under the ROC curve, from average ranks (Mann-Whitney U). NaN when a class is empty."""
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = _average_ranks(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties sharing their average rank."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_values)) + 1]
    ends = np.r_[starts[1:], len(values)]
    average = (starts + ends + 1) / 2.0  # mean of 1-based ranks start+1 .. end
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.repeat(average, ends - starts)
    return ranks


def bootstrap_auc(
    scores: np.ndarray,
    positive: np.ndarray,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the AUC (resampling labelled pairs with replacement)."""
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    if len(scores) == 0 or positive.all() or not positive.any():
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(samples):
        pick = rng.integers(0, len(scores), len(scores))
        auc = roc_auc(scores[pick], positive[pick])
        if not np.isnan(auc):
            values.append(auc)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def precision_recall(kept: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    """Precision (accepted among kept) and recall (kept among accepted); NaN where undefined."""
    kept, positive = np.asarray(kept, dtype=bool), np.asarray(positive, dtype=bool)
    hits = int((kept & positive).sum())
    precision = hits / int(kept.sum()) if kept.any() else float("nan")
    recall = hits / int(positive.sum()) if positive.any() else float("nan")
    return precision, recall


def threshold_for_precision(
    scores: np.ndarray, positive: np.ndarray, target: float
) -> tuple[float, float, float] | None:
    """The lowest cut ``t`` such that keeping ``scores >= t`` reaches ``target`` precision, i.e. the one
    that keeps the most accepted pairs: ``(t, precision, recall)``; None when no cut reaches it."""
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    if not positive.any():
        return None
    order = np.argsort(-scores, kind="mergesort")
    ordered, hits = scores[order], np.cumsum(positive[order])
    last_of_tie = np.r_[np.flatnonzero(np.diff(ordered)), len(ordered) - 1]  # keep whole ties together
    kept = last_of_tie + 1
    precision = hits[last_of_tie] / kept
    reaching = np.flatnonzero(precision >= target)
    if not len(reaching):
        return None
    best = reaching[-1]
    return (
        float(ordered[last_of_tie[best]]),
        float(precision[best]),
        float(hits[last_of_tie[best]] / positive.sum()),
    )


def curve_points(
    scores: np.ndarray, positive: np.ndarray, max_points: int = MAX_CURVE_POINTS
) -> dict[str, list[tuple[float, float]]]:
    """The ROC curve ``(false positive rate, true positive rate)`` from (0, 0) to (1, 1) and the
    precision-recall curve ``(recall, precision)``, one point per distinct cut (ties kept together), thinned
    to about ``max_points``. Empty lists when a class is missing."""
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return {"roc": [], "pr": []}
    order = np.argsort(-scores, kind="mergesort")
    ordered, hits = scores[order], np.cumsum(positive[order])
    last_of_tie = np.r_[np.flatnonzero(np.diff(ordered)), len(ordered) - 1]
    tp = hits[last_of_tie]
    fp = last_of_tie + 1 - tp
    keep = np.unique(
        np.linspace(0, len(last_of_tie) - 1, min(max_points, len(last_of_tie))).round().astype(int)
    )
    tpr, fpr, precision = tp[keep] / n_pos, fp[keep] / n_neg, tp[keep] / (last_of_tie[keep] + 1)
    roc = [(0.0, 0.0), *zip(fpr.tolist(), tpr.tolist(), strict=True)]
    pr = list(zip(tpr.tolist(), precision.tolist(), strict=True))
    return {"roc": roc, "pr": pr}


def curves(engine_or_frame: Any, recipe: Recipe) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """``curve_points`` for every score column that has scored labelled pairs of both kinds."""
    frame = engine_or_frame if isinstance(engine_or_frame, ScoreFrame) else get_frame(engine_or_frame)
    labelled = frame.task_mask(recipe.task) & (frame.label != 0)
    out = {}
    for column in SCORE_COLUMNS:
        values = frame.scores[column][labelled]
        positive = frame.label[labelled] == LABEL_ACCEPT
        scored = ~np.isnan(values)
        points = curve_points(oriented(column, values[scored], recipe.task), positive[scored])
        if points["roc"]:
            out[column] = points
    return out


def oriented(column: str, values: np.ndarray, task: str) -> np.ndarray:
    """``values`` turned so that higher means "keep" (see the module docstring)."""
    if column == "rouge_l":
        return -values
    if column == "length_ratio":
        with np.errstate(divide="ignore", invalid="ignore"):
            return -np.abs(np.log(values)) if task == "paraphrase" else -values
    return values


def from_oriented(column: str, value: float, task: str) -> tuple[str, float]:
    """A cut on the oriented scale as the recipe bound and value it means."""
    if column == "rouge_l" or (column == "length_ratio" and task == "summary"):
        return "max", -value
    return "min", value


@dataclass
class ColumnAgreement:
    """One critic against the labels of one task."""

    column: str
    labelled: int
    scored: int
    unscored: int
    accepted: int
    rejected: int
    auc: float
    auc_low: float
    auc_high: float
    recipe_check: str | None  # e.g. ">= 0.8", None when the recipe does not use this column
    precision: float  # at the recipe's threshold, among scored labelled pairs
    recall: float
    target_bound: str | None  # "min" / "max" of the cut reaching the target precision
    target_threshold: float | None
    target_precision: float | None
    target_recall: float | None


def _recipe_kept(recipe: Recipe, column: str, values: np.ndarray) -> tuple[np.ndarray | None, str | None]:
    low, high = recipe.min.get(column), recipe.max.get(column)
    if low is None and high is None:
        return None, None
    kept = np.ones(len(values), dtype=bool)
    parts = []
    if low is not None:
        kept &= values >= low
        parts.append(f">= {low:g}")
    if high is not None:
        kept &= values <= high
        parts.append(f"<= {high:g}")
    return kept, " and ".join(parts)


def column_agreement(
    frame: ScoreFrame,
    recipe: Recipe,
    column: str,
    target: float,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
) -> ColumnAgreement:
    """AUC (with interval), precision / recall at the recipe's check and the cut for ``target`` precision."""
    labelled = frame.task_mask(recipe.task) & (frame.label != 0)
    values = frame.scores[column][labelled]
    positive = frame.label[labelled] == LABEL_ACCEPT
    scored = ~np.isnan(values)
    values, positive = values[scored], positive[scored]
    ranked = oriented(column, values, recipe.task)
    auc = roc_auc(ranked, positive)
    low, high = bootstrap_auc(ranked, positive, samples, seed)
    kept, check = _recipe_kept(recipe, column, values)
    precision, recall = precision_recall(kept, positive) if kept is not None else (float("nan"),) * 2
    cut = None
    if not (column == TWO_SIDED and recipe.task == "paraphrase"):
        cut = threshold_for_precision(ranked, positive, target)
    bound, threshold = from_oriented(column, cut[0], recipe.task) if cut else (None, None)
    return ColumnAgreement(
        column=column,
        labelled=int(labelled.sum()),
        scored=int(scored.sum()),
        unscored=int((~scored).sum()),
        accepted=int(positive.sum()),
        rejected=int((~positive).sum()),
        auc=auc,
        auc_low=low,
        auc_high=high,
        recipe_check=check,
        precision=precision,
        recall=recall,
        target_bound=bound,
        target_threshold=threshold,
        target_precision=cut[1] if cut else None,
        target_recall=cut[2] if cut else None,
    )


def agreement(
    engine_or_frame: Any, recipe: Recipe, target: float = 0.9, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0
) -> list[dict[str, Any]]:
    """``column_agreement`` for every score column, as plain dicts (for the CLI, the studio and JSON)."""
    if not 0.0 < target <= 1.0:
        raise ValueError(f"Target precision {target} must lie in (0, 1], for example 0.9.")
    frame = engine_or_frame if isinstance(engine_or_frame, ScoreFrame) else get_frame(engine_or_frame)
    labelled = frame.task_mask(recipe.task) & (frame.label != 0)
    if not labelled.any():
        raise ValueError(
            f"No {recipe.task} pair has a human label yet; label pairs on the Review page, `impossible label`, "
            "or import a labelled file (`impossible import --format mrpc FILE`)."
        )
    return [asdict(column_agreement(frame, recipe, c, target, samples, seed)) for c in SCORE_COLUMNS]


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "—" if value is None or (isinstance(value, float) and np.isnan(value)) else format(value, spec)


def agreement_table(rows: list[dict[str, Any]], target: float) -> str:
    """A fixed-width table, then one ``auc_<column>=<value>`` line per column (for scripts)."""
    head = (
        f"{'column':<14}{'scored':>7}{'unscored':>9}{'auc':>7}  {'95% interval':<16}{'recipe':<18}"
        f"{'prec':>6}{'recall':>7}   cut for precision >= {target:g} (its recall)"
    )
    lines = [head]
    for r in rows:
        interval = f"[{_fmt(r['auc_low'])}, {_fmt(r['auc_high'])}]" if r["scored"] else "—"
        if r["target_threshold"] is None:
            cut = "—"
        else:
            sign = ">=" if r["target_bound"] == "min" else "<="
            cut = f"{sign} {r['target_threshold']:.3f} (recall {r['target_recall']:.3f})"
        lines.append(
            f"{r['column']:<14}{r['scored']:>7}{r['unscored']:>9}{_fmt(r['auc']):>7}  {interval:<16}"
            f"{(r['recipe_check'] or '—'):<18}{_fmt(r['precision'], '.2f'):>6}{_fmt(r['recall'], '.2f'):>7}   {cut}"
        )
    lines += [f"auc_{r['column']}={r['auc']:.4f}" for r in rows]
    return "\n".join(lines)
