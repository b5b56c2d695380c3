"""The authoritative selection: which pairs a recipe keeps, computed in SQL.

    selected = (pairs passing recipe.where, then one per dedup group when recipe.dedup)
               UNION (human-accepted pairs of the recipe's task)
               MINUS (human-rejected pairs)

Dedup keeps, per ``pairs.dedup_group``, the passing pair with the highest semantic score
(``nli_forward + nli_backward``, or ``embed_cosine`` when the recipe's semantic critic is the embedding;
a missing score counts as 0), the lowest id on a tie; a pair with a NULL group is its own group. A human
decision (the ``labels`` table) overrides the critics and survives re-scoring because it lives apart from
the score columns. Exports and versions read this query; the studio's numpy path (``curation.frame``)
is tested to agree with it exactly. Which semantic critic the default recipe uses (NLI when any pair has
an NLI score, else embedding cosine) is decided here too, from the database or from a loaded frame.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import ColumnElement, Engine, Select, and_, exists, func, literal, or_, select

from curation.frame import ScoreFrame
from curation.recipe import Recipe
from db.schema import labels, pairs


def semantic_rank(recipe: Recipe) -> ColumnElement[float]:
    """The score that ranks pairs inside a dedup group (higher is better; NULL counts as 0)."""
    terms = [func.coalesce(pairs.c[column], literal(0.0)) for column in recipe.semantic_columns]
    rank = terms[0]
    for term in terms[1:]:
        rank = rank + term
    return rank


def critic_survivors(recipe: Recipe) -> Select:
    """Ids of the pairs the critics keep: ``recipe.where`` and, with dedup, the best pair of each group."""
    if not recipe.dedup:
        return select(pairs.c.id).where(recipe.where(pairs))
    ranked = (
        select(
            pairs.c.id,
            pairs.c.dedup_group,
            func.row_number()
            .over(partition_by=pairs.c.dedup_group, order_by=(semantic_rank(recipe).desc(), pairs.c.id))
            .label("rn"),
        )
        .where(recipe.where(pairs))
        .subquery("ranked")
    )
    return select(ranked.c.id).where(or_(ranked.c.rn == 1, ranked.c.dedup_group.is_(None)))


def selection_query(recipe: Recipe) -> Select:
    """``SELECT id FROM pairs`` for the recipe's selection, ordered by id (parameterised, no literals)."""
    accepted = exists().where(labels.c.pair_id == pairs.c.id, labels.c.decision == "accept")
    rejected = exists().where(labels.c.pair_id == pairs.c.id, labels.c.decision == "reject")
    return (
        select(pairs.c.id)
        .where(
            and_(
                pairs.c.task == recipe.task,
                or_(pairs.c.id.in_(critic_survivors(recipe)), accepted),
                ~rejected,
            )
        )
        .order_by(pairs.c.id)
    )


def selected_ids(engine: Engine, recipe: Recipe) -> np.ndarray:
    """The ids (ascending, int64) of every pair the recipe keeps, human decisions included."""
    with engine.connect() as conn:
        ids = conn.execute(selection_query(recipe)).scalars().all()
    return np.asarray(ids, dtype=np.int64)


def count_selected(engine: Engine, recipe: Recipe) -> int:
    """How many pairs the recipe keeps (the same query, counted in the database)."""
    inner = selection_query(recipe).order_by(None).subquery()
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(inner)).scalar_one()


def has_nli_scores(source: Engine | ScoreFrame, task: str | None = None) -> bool:
    """True when any pair (of ``task``, if given) has an NLI score: from a loaded frame's arrays (once per
    frame, no query), or from the database in one indexed query."""
    if isinstance(source, ScoreFrame):
        key = ("has_nli", task)
        if key not in source.memo:
            scored = np.isfinite(source.scores["nli_forward"]) | np.isfinite(source.scores["nli_backward"])
            source.memo[key] = bool((scored if task is None else scored & source.task_mask(task)).any())
        return source.memo[key]
    condition = or_(pairs.c.nli_forward.is_not(None), pairs.c.nli_backward.is_not(None))
    if task is not None:
        condition = and_(pairs.c.task == task, condition)
    with source.connect() as conn:
        return conn.execute(select(pairs.c.id).where(condition).limit(1)).first() is not None


def default_semantic(source: Engine | ScoreFrame, task: str | None = None) -> str:
    """``"nli"`` when an NLI model has scored pairs (of ``task``), else ``"embedding"``."""
    return "nli" if has_nli_scores(source, task) else "embedding"


def default_recipe(source: Engine | ScoreFrame, task: str = "paraphrase") -> Recipe:
    """The paper's thresholds for ``task``, with embedding cosine standing in for NLI when no pair of
    that task has an NLI score (offline, no NLI model). The studio passes its loaded frame."""
    return Recipe.default(task, default_semantic(source, task))


def semantic_critic(source: Engine | ScoreFrame, task: str | None = None) -> str:
    """One plain sentence naming the semantic critic the default recipe uses, for stats and exports."""
    if has_nli_scores(source, task):
        return "NLI entailment (nli_forward / nli_backward)"
    return "embedding cosine (no NLI model has scored this database)"
