"""Human spot-checks: labels, review queues and the precision estimate they give.

A label (accept / reject) overrides the critics in every later selection and survives re-scoring: it
lives in the ``labels`` table, apart from the score columns. The *random* queue samples current survivors
uniformly, so the labels drawn from it estimate the precision of what the critics keep; the *boundary*
queue shows the pairs nearest a threshold first, to help place the cut.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sqlalchemy import Engine, delete, insert, select

from curation import frame as frames
from curation.frame import LABEL_NONE, get_frame
from curation.recipe import Recipe
from curation.search import search_mask
from curation.stats import STEP
from db.jobs import now
from db.queries import pairs_by_id
from db.schema import labels, pairs

DECISIONS = ("accept", "reject")
QUEUES = ("random", "boundary", "manual")

#: Pass/fail scores with no distance to a cut; the boundary queue ignores their thresholds.
BINARY_COLUMNS = ("numbers_ok",)


def set_label(
    engine: Engine, pair_id: int, decision: str | None, note: str = "", queue: str = "manual"
) -> dict[str, Any] | None:
    """Record a human decision on a pair (``None`` clears it); return the stored label or None.

    Relabelling replaces the previous decision and its time, so the label counts as new.
    """
    if decision is not None and decision not in DECISIONS:
        raise ValueError(f"Decision must be accept, reject or clear, not {decision!r}.")
    if queue not in QUEUES:
        raise ValueError(f"Queue must be one of {', '.join(QUEUES)}, not {queue!r}.")
    with engine.begin() as conn:
        if conn.execute(select(pairs.c.id).where(pairs.c.id == pair_id)).first() is None:
            raise ValueError(f"No pair with id {pair_id}.")
        conn.execute(delete(labels).where(labels.c.pair_id == pair_id))
        stored = None
        if decision is not None:
            stored = {
                "pair_id": pair_id,
                "decision": decision,
                "note": note or "",
                "queue": queue,
                "labelled_at": now(),
            }
            conn.execute(insert(labels).values(**stored))
    return stored  # the frame's signature sees the new label; get_frame re-reads only the labels


def get_label(engine: Engine, pair_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(labels).where(labels.c.pair_id == pair_id)).mappings().first()
    return dict(row) if row else None


def review_queue(
    engine: Engine,
    recipe: Recipe,
    mode: str = "random",
    n: int = 20,
    seed: int | None = None,
    search: str = "",
) -> list[dict[str, Any]]:
    """Up to ``n`` unlabelled pairs to review, as full pair rows with a ``queue`` field; with ``search``,
    only pairs whose source or target contains that text.

    ``random``: a uniform sample of the current survivors (label them for an unbiased precision estimate).
    ``boundary``: pairs closest to a threshold on either side (kept pairs about to be cut, rejected pairs
    that fail one check by a little), nearest first, alternating sides.
    """
    if mode not in ("random", "boundary"):
        raise ValueError(f"Review mode must be random or boundary, not {mode!r}.")
    if n < 0:
        raise ValueError("The queue size must be zero or more.")
    frame = get_frame(engine)
    unlabelled = frame.label == LABEL_NONE
    matching = search_mask(frame, search)
    if matching is not None:
        unlabelled = unlabelled & matching
    if mode == "random":
        candidates = np.flatnonzero(frame.verdict(recipe).selected & unlabelled)
        rng = np.random.default_rng(seed)
        chosen = rng.choice(candidates, size=min(n, len(candidates)), replace=False)
    else:
        chosen = _boundary_positions(frame, recipe, unlabelled, n)
    rows = pairs_by_id(engine, frame.ids[chosen].tolist())
    return [{**row, "queue": mode} for row in rows]


def _boundary_positions(
    frame: frames.ScoreFrame, recipe: Recipe, unlabelled: np.ndarray, n: int
) -> np.ndarray:
    """Positions of the ``n`` pairs nearest a threshold, in steps of that column's ``STEP`` (binary
    checks such as numbers_ok have no distance and are skipped)."""
    verdict = frame.verdict(recipe)
    in_task, fail_count = verdict.in_task & unlabelled, verdict.fail_count
    inside = np.full(len(frame), np.inf)  # margin of a passing pair to its nearest cut
    outside = np.full(len(frame), np.inf)  # how far a pair failing exactly one check misses it
    for (bound, column), failed in verdict.fails.items():
        if column in BINARY_COLUMNS:
            continue
        value = getattr(recipe, bound)[column]
        distance = np.abs(frame.scores[column] - value) / STEP[column]
        distance = np.nan_to_num(distance, nan=np.inf)
        inside = np.minimum(inside, np.where(fail_count == 0, distance, np.inf))
        outside = np.where(failed & (fail_count == 1), distance, outside)
    sides = []
    for margin in (inside, outside):
        positions = np.flatnonzero(in_task & np.isfinite(margin))
        sides.append(positions[np.lexsort((positions, margin[positions]))][:n])
    merged = [p for pair in zip(*sides, strict=False) for p in pair]
    shorter, longer = sorted(sides, key=len)
    merged += longer[len(shorter) :].tolist()
    return np.asarray(merged[:n], dtype=np.int64)


def labelled_among(engine: Engine, pair_ids: list[int]) -> int:
    """How many of ``pair_ids`` carry a human label now (a review queue's progress)."""
    if not pair_ids:
        return 0
    with engine.connect() as conn:
        return len(conn.execute(select(labels.c.pair_id).where(labels.c.pair_id.in_(pair_ids))).all())


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval for a binomial proportion (95% by default); (0, 1) when n = 0."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def precision_estimate(engine: Engine, recipe: Recipe) -> dict[str, Any]:
    """Estimated precision of what the critics keep under ``recipe``, from random-queue labels.

    Only labels drawn from the random queue count (boundary labels are a biased sample), and only those
    whose pair the critics keep now (thresholds and dedup, before human overrides: a rejected pair leaves
    the selection, but it still counts against the critics that let it through).
    """
    frame = get_frame(engine)
    kept_ids = frame.ids[frame.verdict(recipe).critic_kept]
    with engine.connect() as conn:
        rows = conn.execute(
            select(labels.c.pair_id, labels.c.decision).where(labels.c.queue == "random")
        ).all()
    in_selection = [decision for pair_id, decision in rows if _contains(kept_ids, pair_id)]
    n = len(in_selection)
    accepted = sum(1 for decision in in_selection if decision == "accept")
    low, high = wilson_interval(accepted, n)
    return {
        "n": n,
        "accepted": accepted,
        "precision": accepted / n if n else None,
        "low": low,
        "high": high,
        "confidence": 0.95,
    }


def _contains(sorted_ids: np.ndarray, pair_id: int) -> bool:
    at = int(np.searchsorted(sorted_ids, pair_id))
    return at < len(sorted_ids) and int(sorted_ids[at]) == pair_id
