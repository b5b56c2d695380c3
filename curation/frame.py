"""The studio's instant path: score columns loaded once into numpy, selections recomputed in memory.

A ``ScoreFrame`` holds, for every pair, its id, task, the six score columns (float64, NaN = NULL, so a
comparison gives exactly the answer SQL gives), its dedup group and its human label. ``get_frame`` caches
one frame per database URL and reloads it only when a cheap signature changes: the pairs' count and
max id, the labels' count and latest time, and the progress of every job that writes pairs or scores
(a score job commits its progress with each batch of scores, so its writes invalidate the frame).
Code that updates scores outside a job calls ``invalidate(engine)``.

``ScoreFrame.selection(recipe)`` must equal ``curation.select.selected_ids`` exactly (tested on random
data with labels and dedup).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Engine, case, func, select

from curation.recipe import Recipe
from db.schema import SCORE_COLUMNS, jobs, labels, pairs
from pipeline.types import TASKS

#: Job kinds that never write pairs or scores; every other kind's progress invalidates the frame.
NON_PAIR_JOB_KINDS = ("train", "evaluate")

LABEL_NONE, LABEL_ACCEPT, LABEL_REJECT = 0, 1, -1
NO_GROUP = np.iinfo(np.int64).min

_LOAD_CHUNK = 200_000


@dataclass
class ScoreFrame:
    """Every pair's id, task code (index into ``TASKS``), scores, dedup group and label, as arrays."""

    ids: np.ndarray  # int64, ascending
    task: np.ndarray  # int8 index into TASKS
    scores: dict[str, np.ndarray]  # float64, NaN for NULL
    group: np.ndarray  # int64, NO_GROUP for NULL
    label: np.ndarray  # int8: LABEL_NONE / LABEL_ACCEPT / LABEL_REJECT
    signature: tuple = ()
    engine: Engine | None = field(default=None, repr=False)  # where the pairs' text lives
    memo: dict = field(default_factory=dict, repr=False)  # derived arrays, computed once per frame

    def __len__(self) -> int:
        return len(self.ids)

    # ---- the selection, step by step --------------------------------------------------------------
    def task_mask(self, task: str) -> np.ndarray:
        return self.task == TASKS.index(task)

    def check_fails(self, recipe: Recipe) -> dict[tuple[str, str], np.ndarray]:
        """One boolean array per threshold, ``(bound, column) -> fails`` (a NaN score fails)."""
        fails = {}
        for column, value in recipe.min.items():
            fails[("min", column)] = ~(self.scores[column] >= value)
        for column, value in recipe.max.items():
            fails[("max", column)] = ~(self.scores[column] <= value)
        return fails

    def critic_pass(self, recipe: Recipe, fails: dict | None = None) -> np.ndarray:
        """Pairs of the recipe's task that pass every threshold (``recipe.where``)."""
        passing = self.task_mask(recipe.task)
        for failed in (fails if fails is not None else self.check_fails(recipe)).values():
            passing = passing & ~failed
        return passing

    def dedup_order(self, recipe: Recipe) -> np.ndarray:
        """Row positions of grouped pairs sorted by (group, best semantic score first, lowest id)."""
        key = ("dedup_order", recipe.semantic_columns)
        if key not in self.memo:
            rank = np.zeros(len(self), dtype=np.float64)
            for column in recipe.semantic_columns:
                rank = rank + np.nan_to_num(self.scores[column], nan=0.0)
            grouped = np.flatnonzero(self.group != NO_GROUP)
            order = np.lexsort((self.ids[grouped], -rank[grouped], self.group[grouped]))
            self.memo[key] = grouped[order]
        return self.memo[key]

    def dedup(self, recipe: Recipe, passing: np.ndarray) -> np.ndarray:
        """``passing`` narrowed to ungrouped pairs plus the best passing pair of each group."""
        order = self.dedup_order(recipe)
        kept = passing & (self.group == NO_GROUP)
        positions = order[passing[order]]
        groups = self.group[positions]
        first = np.ones(len(positions), dtype=bool)
        first[1:] = groups[1:] != groups[:-1]
        kept[positions[first]] = True
        return kept

    def critic_selection_mask(self, recipe: Recipe, passing: np.ndarray | None = None) -> np.ndarray:
        """What the critics alone keep (thresholds, then dedup), before human labels."""
        passing = self.critic_pass(recipe) if passing is None else passing
        return self.dedup(recipe, passing) if recipe.dedup else passing

    def apply_labels(self, recipe: Recipe, kept: np.ndarray) -> np.ndarray:
        """Add human-accepted pairs of the task, remove human-rejected ones."""
        accepted = (self.label == LABEL_ACCEPT) & self.task_mask(recipe.task)
        return (kept | accepted) & (self.label != LABEL_REJECT)

    def selection_mask(self, recipe: Recipe, passing: np.ndarray | None = None) -> np.ndarray:
        """Boolean mask of the pairs the recipe keeps (same rule as ``curation.select``)."""
        return self.apply_labels(recipe, self.critic_selection_mask(recipe, passing))

    def selection(self, recipe: Recipe) -> np.ndarray:
        """Ids (ascending) of the pairs the recipe keeps."""
        return self.ids[self.selection_mask(recipe)]

    def positions(self, ids: np.ndarray) -> np.ndarray:
        """Row positions of ``ids`` (which must be present)."""
        return np.searchsorted(self.ids, ids)


# ---- loading ----------------------------------------------------------------------------------------
def data_signature(engine: Engine) -> tuple:
    """Cheap fingerprint of everything a frame holds; it changes whenever pairs, scores or labels do."""
    with engine.connect() as conn:
        pair_part = tuple(conn.execute(select(func.count(), func.max(pairs.c.id)).select_from(pairs)).one())
        label_part = tuple(
            conn.execute(select(func.count(), func.max(labels.c.labelled_at)).select_from(labels)).one()
        )
        job_part = tuple(
            conn.execute(
                select(
                    func.count(),
                    func.max(jobs.c.id),
                    func.sum(jobs.c.progress_done),
                    func.max(jobs.c.finished_at),
                )
                .select_from(jobs)
                .where(jobs.c.kind.not_in(NON_PAIR_JOB_KINDS))
            ).one()
        )
    return (*pair_part, *label_part, *job_part)


def load_frame(engine: Engine) -> ScoreFrame:
    """Read every pair's scores, group and label from the database (in chunks of rows)."""
    signature = data_signature(engine)
    task_code = case({name: index for index, name in enumerate(TASKS)}, value=pairs.c.task, else_=-1)
    columns = [pairs.c.id, task_code, *[pairs.c[c] for c in SCORE_COLUMNS], pairs.c.dedup_group]
    blocks = []
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True).execute(select(*columns).order_by(pairs.c.id))
        while rows := result.fetchmany(_LOAD_CHUNK):
            blocks.append(np.array(rows, dtype=np.float64) if rows else np.empty((0, len(columns))))
        label_rows = conn.execute(select(labels.c.pair_id, labels.c.decision)).all()
    data = np.concatenate(blocks) if blocks else np.empty((0, len(columns)))
    ids = data[:, 0].astype(np.int64)
    group_col = data[:, -1]
    group = np.where(np.isnan(group_col), NO_GROUP, np.nan_to_num(group_col)).astype(np.int64)
    label = np.zeros(len(ids), dtype=np.int8)
    if label_rows:
        label_ids = np.array([r[0] for r in label_rows], dtype=np.int64)
        decisions = np.array(
            [LABEL_ACCEPT if r[1] == "accept" else LABEL_REJECT for r in label_rows], np.int8
        )
        found = np.searchsorted(ids, label_ids)
        present = (found < len(ids)) & (ids[np.minimum(found, max(len(ids) - 1, 0))] == label_ids)
        label[found[present]] = decisions[present]
    return ScoreFrame(
        ids=ids,
        task=data[:, 1].astype(np.int8),
        scores={c: np.ascontiguousarray(data[:, 2 + i]) for i, c in enumerate(SCORE_COLUMNS)},
        group=group,
        label=label,
        signature=signature,
        engine=engine,
    )


_cache: dict[str, ScoreFrame] = {}
_lock = threading.Lock()


def get_frame(engine: Engine) -> ScoreFrame:
    """The cached frame for this database, reloaded when its data signature has changed."""
    key = engine.url.render_as_string(hide_password=False)
    signature = data_signature(engine)
    with _lock:
        frame = _cache.get(key)
        if frame is not None and frame.signature == signature:
            return frame
        frame = load_frame(engine)
        _cache[key] = frame
        return frame


def invalidate(engine: Engine | None = None) -> None:
    """Forget the cached frame of ``engine`` (or every frame): the next ``get_frame`` reloads."""
    with _lock:
        if engine is None:
            _cache.clear()
        else:
            _cache.pop(engine.url.render_as_string(hide_password=False), None)
