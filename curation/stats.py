"""Numbers behind the Curate page and ``impossible stats``: survivors, per-critic attribution, histograms,
and paged rows with their rejection reasons and a word diff.

Everything here is plain data (dicts, lists, ints) so the studio can draw it and tests can check it.
"""

from __future__ import annotations

import difflib
import functools
import html
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, select

from curation.frame import LABEL_ACCEPT, LABEL_REJECT, ScoreFrame, get_frame
from curation.recipe import DEDUP_REASON, Recipe
from curation.search import search_mask
from curation.select import default_recipe, selection_query, semantic_critic
from db.schema import SCORE_COLUMNS, contexts, labels, pairs, sentences
from db.scores import UNIT_COLUMNS

HUMAN_REJECTED_REASON = "human_rejected"

#: How far "loosen one step" moves a threshold, per column.
STEP: dict[str, float] = {column: 0.05 for column in UNIT_COLUMNS} | {"length_ratio": 0.1, "ted": 1.0}

#: Fixed histogram bins per column: (low, high, number of bins); values above ``high`` go in the last bin.
BINS: dict[str, tuple[float, float, int]] = {column: (0.0, 1.0, 20) for column in UNIT_COLUMNS} | {
    "length_ratio": (0.0, 3.0, 30),
    "ted": (0.0, 60.0, 30),
}


def _frame(engine_or_frame: Engine | ScoreFrame) -> ScoreFrame:
    return engine_or_frame if isinstance(engine_or_frame, ScoreFrame) else get_frame(engine_or_frame)


@functools.cache
def _edges(column: str) -> tuple[float, ...]:
    low, high, count = BINS[column]
    return tuple(round(float(x), 6) for x in np.linspace(low, high, count + 1))


def bin_edges(column: str) -> list[float]:
    """The fixed histogram bin edges of ``column``."""
    return list(_edges(column))


def bin_index(frame: ScoreFrame, column: str) -> np.ndarray:
    """Each pair's histogram bin for ``column`` (-1 when the score is missing), computed once per frame."""
    key = ("bin_index", column)
    if key not in frame.memo:
        low, high, count = BINS[column]
        values = frame.scores[column]
        scaled = np.floor((np.nan_to_num(values, nan=low) - low) / (high - low) * count)
        index = np.clip(scaled, 0, count - 1).astype(np.int16)
        index[np.isnan(values)] = -1
        frame.memo[key] = index
    return frame.memo[key]


def histogram(frame: ScoreFrame, column: str, positions: np.ndarray) -> tuple[list[int], int]:
    """Counts per bin of ``column`` over the pairs at ``positions``, and how many of them lack the score."""
    index = bin_index(frame, column)[positions]
    counts = np.bincount(index + 1, minlength=BINS[column][2] + 1)
    return counts[1:].tolist(), int(counts[0])


def task_histogram(frame: ScoreFrame, column: str, task: str) -> tuple[list[int], int]:
    """``histogram`` over every pair of ``task`` (independent of thresholds, so computed once per frame)."""
    key = ("task_histogram", column, task)
    if key not in frame.memo:
        frame.memo[key] = histogram(frame, column, np.flatnonzero(frame.task_mask(task)))
    return frame.memo[key]


def loosened(bound: str, column: str, value: float) -> float:
    """The threshold one step looser: a min moves down, a max moves up (unit scores stay in [0, 1])."""
    step = STEP[column]
    moved = value - step if bound == "min" else value + step
    moved = max(moved, 0.0)
    if column in UNIT_COLUMNS:
        moved = min(moved, 1.0)
    return round(moved, 6)


def summarize(engine_or_frame: Engine | ScoreFrame, recipe: Recipe) -> dict[str, Any]:
    """Survivors, what each critic removes (alone / only it / loosening it one step would add), dedup and
    label effects, and a histogram per score over the task's pairs and over the survivors."""
    frame = _frame(engine_or_frame)
    verdict = frame.verdict(recipe)
    in_task, selected, passing = verdict.in_task, verdict.selected, verdict.passing
    failing_one = in_task & (verdict.fail_count == 1)
    critics = []
    for (bound, column), failed in verdict.fails.items():
        threshold = getattr(recipe, bound)[column]
        only = np.flatnonzero(failed & failing_one)
        step_to = loosened(bound, column, threshold)
        values = frame.scores[column][only]
        newly = only[(values >= step_to) if bound == "min" else (values <= step_to)]
        critics.append(
            {
                "bound": bound,
                "column": column,
                "threshold": threshold,
                "removes_alone": np.count_nonzero(failed & in_task),
                "removes_only": len(only),
                "loosen_to": step_to,
                "loosen_adds": frame.added_by(recipe, verdict, newly),
            }
        )

    kept_positions = np.flatnonzero(selected)
    histograms = {}
    for column in SCORE_COLUMNS:
        all_counts, all_missing = task_histogram(frame, column, recipe.task)
        kept_counts, kept_missing = histogram(frame, column, kept_positions)
        histograms[column] = {
            "edges": bin_edges(column),
            "all": all_counts,
            "survivors": kept_counts,
            "missing_all": all_missing,
            "missing_survivors": kept_missing,
            "min": recipe.min.get(column),
            "max": recipe.max.get(column),
        }

    critic_kept = verdict.critic_kept
    return {
        "task": recipe.task,
        "recipe": recipe.to_dict(),
        "recipe_hash": recipe.hash,
        "total": np.count_nonzero(in_task),
        "passing_critics": np.count_nonzero(passing),
        "dedup_removed": np.count_nonzero(passing & ~critic_kept),
        "accepted": np.count_nonzero((frame.label == LABEL_ACCEPT) & in_task),
        "rejected": np.count_nonzero((frame.label == LABEL_REJECT) & in_task),
        "human_added": np.count_nonzero(selected & ~critic_kept),
        "human_removed": np.count_nonzero(critic_kept & ~selected),
        "survivors": len(kept_positions),
        "critics": critics,
        "histograms": histograms,
    }


# ---- paged rows ---------------------------------------------------------------------------------------
def word_diff(source: str, target: str) -> list[tuple[str, str]]:
    """Word-level diff of source -> target as ``(op, text)`` with op in equal / delete / insert."""
    a, b = source.split(), target.split()
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("equal", " ".join(a[i1:i2])))
            continue
        if op in ("delete", "replace"):
            out.append(("delete", " ".join(a[i1:i2])))
        if op in ("insert", "replace"):
            out.append(("insert", " ".join(b[j1:j2])))
    return out


def diff_html(ops: list[tuple[str, str]]) -> str:
    """The diff as HTML with escaped text: ``<del>`` for removed words, ``<ins>`` for added ones."""
    tags = {"equal": "{}", "delete": "<del>{}</del>", "insert": "<ins>{}</ins>"}
    return " ".join(tags[op].format(html.escape(text)) for op, text in ops)


def _order(frame: ScoreFrame, positions: np.ndarray, sort: str, stop: int) -> np.ndarray:
    """The first ``stop`` of ``positions`` ordered by ``sort`` ("id", "-id", "<column>", "-<column>");
    missing scores sort last, ties by id."""
    name = sort.lstrip("-")
    descending = sort.startswith("-")
    if name == "id":
        return positions[::-1][:stop] if descending else positions[:stop]
    if name not in SCORE_COLUMNS:
        raise ValueError(f"Cannot sort by {sort!r}; use id or a score column ({', '.join(SCORE_COLUMNS)}).")
    values = frame.scores[name][positions]
    key = np.where(np.isnan(values), np.inf, -values if descending else values)
    if stop < len(positions):
        head = np.argpartition(key, stop - 1)[:stop]
        cutoff = key[head].max()
        head = np.flatnonzero(key <= cutoff)  # keep every tie at the cut so ordering by id stays exact
    else:
        head = np.arange(len(positions))
    head = head[np.lexsort((positions[head], key[head]))]
    return positions[head[:stop]]


def page(
    engine_or_frame: Engine | ScoreFrame,
    recipe: Recipe,
    which: str = "kept",
    offset: int = 0,
    limit: int = 20,
    sort: str = "id",
    search: str = "",
) -> list[dict[str, Any]]:
    """One page of kept (or rejected) pairs of the recipe's task with scores, reasons, label and diff;
    with ``search``, only pairs whose source or target contains that text."""
    if which not in ("kept", "rejected"):
        raise ValueError(f"which must be 'kept' or 'rejected', not {which!r}.")
    if offset < 0 or limit < 0:
        raise ValueError("offset and limit must be zero or more.")
    frame = _frame(engine_or_frame)
    if frame.engine is None:
        raise ValueError("This frame has no engine to read pair text from; pass the engine instead.")
    verdict = frame.verdict(recipe)
    selected, critic_pass = verdict.selected, verdict.passing
    mask = shown_mask(frame, recipe, which, search)
    chosen = _order(frame, np.flatnonzero(mask), sort, offset + limit)[offset:]
    rows = _rows_with_notes(frame.engine, frame.ids[chosen].tolist())
    out = []
    position_of = {int(frame.ids[p]): p for p in chosen}
    for row in rows:
        position = position_of[row["id"]]
        scores = {column: row[column] for column in SCORE_COLUMNS}
        reasons = recipe.reasons(scores)
        if critic_pass[position] and not selected[position] and frame.label[position] != LABEL_REJECT:
            reasons.append(DEDUP_REASON)
        if frame.label[position] == LABEL_REJECT:
            reasons.append(HUMAN_REJECTED_REASON)
        ops = word_diff(row["source"], row["target"])
        out.append(
            {
                "id": row["id"],
                "task": row["task"],
                "source": row["source"],
                "target": row["target"],
                "scores": scores,
                "reasons": reasons,
                "label": {LABEL_ACCEPT: "accept", LABEL_REJECT: "reject"}.get(int(frame.label[position])),
                "note": row["note"] or "",
                "dedup_group": row["dedup_group"],
                "diff": ops,
                "diff_html": diff_html(ops),
            }
        )
    return out


def shown_mask(frame: ScoreFrame, recipe: Recipe, which: str, search: str = "") -> np.ndarray:
    """The pairs a page of ``which`` (kept / rejected) draws from, narrowed to ``search`` when given."""
    verdict = frame.verdict(recipe)
    mask = verdict.selected if which == "kept" else verdict.in_task & ~verdict.selected
    matching = search_mask(frame, search)
    return mask if matching is None else mask & matching


def shown_count(engine_or_frame: Engine | ScoreFrame, recipe: Recipe, which: str, search: str = "") -> int:
    """How many pairs ``page`` pages through for these arguments."""
    return int(np.count_nonzero(shown_mask(_frame(engine_or_frame), recipe, which, search)))


def _rows_with_notes(engine: Engine, ids: list[int]) -> list[dict[str, Any]]:
    """Pair rows for ``ids`` (a page: tens of ids) with their label note, in the order given."""
    if not ids:
        return []
    query = (
        select(pairs, labels.c.note)
        .select_from(pairs.outerjoin(labels, labels.c.pair_id == pairs.c.id))
        .where(pairs.c.id.in_(ids))
    )
    with engine.connect() as conn:
        found = {row["id"]: dict(row) for row in conn.execute(query).mappings()}
    return [found[i] for i in ids if i in found]


# ---- the CLI's report ---------------------------------------------------------------------------------
def stage_counts(engine: Engine, recipe: Recipe) -> dict[str, Any]:
    """Counts per stage for one task: contexts, sentences, pairs, scored per column, survivors, yield."""
    selected = selection_query(recipe).order_by(None).subquery()
    in_task = pairs.c.task == recipe.task
    with engine.connect() as conn:
        n_pairs = conn.execute(select(func.count()).where(in_task)).scalar_one()
        scored = conn.execute(select(*[func.count(pairs.c[c]) for c in SCORE_COLUMNS]).where(in_task)).one()
        per_context = conn.execute(
            select(pairs.c.context_id, func.count())
            .where(pairs.c.id.in_(select(selected.c.id)), pairs.c.context_id.is_not(None))
            .group_by(pairs.c.context_id)
        ).all()
        survivors = conn.execute(select(func.count()).select_from(selected)).scalar_one()
        n_contexts = conn.execute(select(func.count()).select_from(contexts)).scalar_one()
        n_sentences = conn.execute(select(func.count()).select_from(sentences)).scalar_one()
    yields = sorted(count for _, count in per_context)
    return {
        "contexts": n_contexts,
        "sentences": n_sentences,
        "pairs": n_pairs,
        "scored": dict(zip(SCORE_COLUMNS, scored, strict=True)),
        "survivors": survivors,
        "yield_per_context": {
            "mean": survivors / n_contexts if n_contexts else 0.0,
            "contexts_with_survivors": len(yields),
            "max": yields[-1] if yields else 0,
        },
    }


def stats_report(engine: Engine, recipe: Recipe | None = None, task: str = "paraphrase") -> str:
    """The text ``impossible stats`` prints: stages, the semantic critic, each critic's effect."""
    recipe = recipe or default_recipe(engine, task)
    stages = stage_counts(engine, recipe)
    summary = summarize(engine, recipe)
    lines = [
        f"task: {recipe.task}    recipe {recipe.hash}    semantic critic: {semantic_critic(engine, recipe.task)}",
        f"contexts   {stages['contexts']:>10}",
        f"sentences  {stages['sentences']:>10}",
        f"pairs      {stages['pairs']:>10}",
    ]
    lines += [f"  scored {column:<13} {count:>10}" for column, count in stages["scored"].items()]
    lines.append(f"survivors  {stages['survivors']:>10}")
    y = stages["yield_per_context"]
    lines.append(
        f"yield per context: mean {y['mean']:.2f}, max {y['max']}, {y['contexts_with_survivors']} contexts with survivors"
    )
    lines.append("critic                  threshold   removes  only-it  +1 step looser")
    for c in summary["critics"]:
        name = f"{c['bound']} {c['column']}"
        lines.append(
            f"  {name:<20} {c['threshold']:>9g} {c['removes_alone']:>9} {c['removes_only']:>8}  "
            f"+{c['loosen_adds']} at {c['loosen_to']:g}"
        )
    lines.append(
        f"dedup removes {summary['dedup_removed']}; human labels: {summary['accepted']} accepted, "
        f"{summary['rejected']} rejected"
    )
    return "\n".join(lines)
