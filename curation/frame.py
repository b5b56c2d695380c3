"""The studio's instant path: score columns loaded once into numpy, selections recomputed in memory.

A ``ScoreFrame`` holds, for every pair, its id, task, the six score columns (float64, NaN = NULL, so a
comparison gives exactly the answer SQL gives), its dedup group and its human label. ``get_frame`` caches
one frame per database URL and reloads it only when a cheap signature changes: the pairs' count and
max id, the labels' count and latest time, and the progress of every job that writes pairs or scores
(a score job commits its progress with each batch of scores, so its writes invalidate the frame).
Code that updates scores outside a job calls ``invalidate(engine)``.

``ScoreFrame.verdict(recipe)`` (``Verdict.compute``) is the one way the frame computes a selection and its
masks; statistics, review queues and the precision estimate all read it, and ``ScoreFrame.selection(recipe)``
must equal ``curation.select.selected_ids`` exactly (tested on random data with labels and dedup).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace

import numpy as np
from sqlalchemy import Engine, case, func, select

from curation import frame_store
from curation.recipe import Recipe
from db.schema import SCORE_COLUMNS, jobs, labels, pairs
from db.types import TASKS

#: Job kinds that never write pairs or scores; every other kind's progress invalidates the frame.
NON_PAIR_JOB_KINDS = ("train", "evaluate")

LABEL_NONE, LABEL_ACCEPT, LABEL_REJECT = 0, 1, -1
NO_GROUP = np.iinfo(np.int64).min

_LOAD_CHUNK = 200_000
_VERDICTS_KEPT = 4


@dataclass
class Verdict:
    """One recipe's selection on one frame, with the masks the statistics reuse."""

    fails: dict[tuple[str, str], np.ndarray]  # (bound, column) -> the pair fails that threshold
    fail_count: np.ndarray  # int8: thresholds failed
    in_task: np.ndarray
    passing: np.ndarray  # of the task and passing every threshold
    critic_kept: np.ndarray  # passing, then dedup
    selected: np.ndarray  # critic_kept with human labels applied
    representatives: tuple[np.ndarray, np.ndarray]  # see ScoreFrame.representatives

    @classmethod
    def compute(cls, frame: ScoreFrame, recipe: Recipe) -> Verdict:
        """The one numpy route for a selection; it must equal ``curation.select.selection_query``.

        A NaN score fails its threshold (as NULL does in SQL); dedup keeps each group's best passing pair
        (``ScoreFrame.dedup_order``); human-accepted pairs of the task join, human-rejected ones leave.
        """
        in_task = frame.task_mask(recipe.task)
        fails = {("min", column): ~(frame.scores[column] >= value) for column, value in recipe.min.items()}
        fails |= {("max", column): ~(frame.scores[column] <= value) for column, value in recipe.max.items()}
        fail_count = np.zeros(len(frame), dtype=np.int8)
        for failed in fails.values():
            fail_count += failed
        passing = in_task & (fail_count == 0)
        if recipe.dedup:
            representatives = frame.representatives(recipe, passing)
            critic_kept = passing & frame.ungrouped
            critic_kept[frame.dedup_order(recipe)[representatives[1]]] = True
        else:
            representatives = (np.empty(0, np.int64), np.empty(0, np.int64))
            critic_kept = passing
        accepted = (frame.label == LABEL_ACCEPT) & in_task
        selected = (critic_kept | accepted) & (frame.label != LABEL_REJECT)
        return cls(fails, fail_count, in_task, passing, critic_kept, selected, representatives)


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
    loaded_at: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    def with_labels(self, label: np.ndarray, signature: tuple) -> ScoreFrame:
        """A frame sharing this one's arrays with new labels (cached results that use labels are dropped)."""
        memo = {k: v for k, v in self.memo.items() if k[0] != "verdict"}
        return replace(self, label=label, signature=signature, memo=memo, _lock=threading.Lock())

    # ---- the selection, step by step --------------------------------------------------------------
    def task_mask(self, task: str) -> np.ndarray:
        """Pairs of ``task`` (computed once per frame; do not modify the result)."""
        key = ("task_mask", task)
        if key not in self.memo:
            self.memo[key] = self.task == TASKS.index(task)
        return self.memo[key]

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

    def dedup_rank(self, recipe: Recipe) -> np.ndarray:
        """Each row's index in ``dedup_order`` (meaningless for ungrouped rows)."""
        key = ("dedup_rank", recipe.semantic_columns)
        if key not in self.memo:
            order = self.dedup_order(recipe)
            rank = np.zeros(len(self), dtype=np.int64)
            rank[order] = np.arange(len(order))
            self.memo[key] = rank
        return self.memo[key]

    @property
    def ungrouped(self) -> np.ndarray:
        if ("ungrouped",) not in self.memo:
            self.memo[("ungrouped",)] = self.group == NO_GROUP
        return self.memo[("ungrouped",)]

    def representatives(self, recipe: Recipe, passing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each group with a passing pair: (group ids ascending, index in ``dedup_order`` of its best
        passing pair)."""
        order = self.dedup_order(recipe)
        at = np.flatnonzero(passing[order])
        groups = self.group[order[at]]
        first = np.ones(len(at), dtype=bool)
        first[1:] = groups[1:] != groups[:-1]
        return groups[first], at[first]

    def verdict(self, recipe: Recipe) -> Verdict:
        """Every intermediate mask of the recipe's selection, cached for the last few recipes."""
        key = ("verdict", recipe.hash)
        with self._lock:
            if key not in self.memo:
                for old in [k for k in self.memo if k[0] == "verdict"][: -(_VERDICTS_KEPT - 1) or None]:
                    del self.memo[old]
                self.memo[key] = Verdict.compute(self, recipe)
            return self.memo[key]

    def added_by(self, recipe: Recipe, verdict: Verdict, newly: np.ndarray) -> int:
        """How many pairs the selection gains when the pairs at positions ``newly`` (failing today, of
        the task) start to pass. Only a newly passing pair can be gained: it is, unless a human labelled
        it (accepted = already in, rejected = never) or dedup prefers another pair of its group."""
        candidates = newly[self.label[newly] == LABEL_NONE]
        if not recipe.dedup:
            return len(candidates)
        alone = self.ungrouped[candidates]
        grouped = candidates[~alone]
        at = np.sort(self.dedup_rank(recipe)[grouped])
        groups = self.group[self.dedup_order(recipe)[at]]
        first = np.ones(len(at), dtype=bool)
        first[1:] = groups[1:] != groups[:-1]
        at, groups = at[first], groups[first]
        rep_groups, rep_at = verdict.representatives
        index = np.minimum(np.searchsorted(rep_groups, groups), max(len(rep_groups) - 1, 0))
        held = (rep_groups[index] == groups) if len(rep_groups) else np.zeros(len(groups), dtype=bool)
        beats = ~held | (at < (rep_at[index] if len(rep_at) else at))
        return int(np.count_nonzero(alone) + np.count_nonzero(beats))

    def selection_mask(self, recipe: Recipe) -> np.ndarray:
        """Boolean mask of the pairs the recipe keeps (``verdict(recipe).selected``; do not modify it)."""
        return self.verdict(recipe).selected

    def selection(self, recipe: Recipe) -> np.ndarray:
        """Ids (ascending) of the pairs the recipe keeps."""
        return self.ids[self.selection_mask(recipe)]

    def positions(self, ids: np.ndarray) -> np.ndarray:
        """Row positions of ``ids`` (which must be present)."""
        return np.searchsorted(self.ids, ids)


# ---- loading ----------------------------------------------------------------------------------------
def data_signature(engine: Engine) -> tuple:
    """Cheap fingerprint of everything a frame holds, in one round trip: it changes whenever pairs are
    added (max id: the studio never deletes pairs, and counting a million rows would cost ~50 ms), a
    label is set or cleared (count, latest time), or a job that writes pairs or scores commits a batch.
    Code that changes pairs any other way calls ``invalidate``.
    Returns ``(data part, labels part)``: a change in the labels part alone reloads only the labels.
    """
    writing_jobs = jobs.c.kind.not_in(NON_PAIR_JOB_KINDS)
    statement = select(
        select(func.max(pairs.c.id)).scalar_subquery(),
        select(func.count()).where(writing_jobs).scalar_subquery(),
        select(func.max(jobs.c.id)).where(writing_jobs).scalar_subquery(),
        select(func.sum(jobs.c.progress_done)).where(writing_jobs).scalar_subquery(),
        select(func.max(jobs.c.finished_at)).where(writing_jobs).scalar_subquery(),
        select(func.count()).select_from(labels).scalar_subquery(),
        select(func.max(labels.c.labelled_at)).scalar_subquery(),
    )
    with engine.connect() as conn:
        row = tuple(conn.execute(statement).one())
    return row[:5], row[5:]


def _numeric_rows(engine: Engine, statement) -> np.ndarray:
    """Run ``statement`` on the raw DBAPI cursor (plain tuples, no per-row objects) into a float64 array
    with NaN for NULL; rows are fetched ``_LOAD_CHUNK`` at a time."""
    compiled = statement.compile(dialect=engine.dialect, compile_kwargs={"render_postcompile": True})
    params = (
        tuple(compiled.params[name] for name in compiled.positiontup)
        if compiled.positional
        else compiled.params
    )
    width = len(statement.selected_columns)
    blocks = []
    with engine.connect() as conn:
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute(str(compiled), params)
            while rows := cursor.fetchmany(_LOAD_CHUNK):
                blocks.append(np.array(rows, dtype=np.float64))
        finally:
            cursor.close()
    return np.concatenate(blocks) if blocks else np.empty((0, width))


def read_labels(engine: Engine, ids: np.ndarray) -> np.ndarray:
    """The human label of each pair in ``ids`` (sorted): LABEL_ACCEPT, LABEL_REJECT or LABEL_NONE."""
    with engine.connect() as conn:
        rows = conn.execute(select(labels.c.pair_id, labels.c.decision)).all()
    label = np.zeros(len(ids), dtype=np.int8)
    if rows and len(ids):
        label_ids = np.array([r[0] for r in rows], dtype=np.int64)
        decisions = np.array([LABEL_ACCEPT if r[1] == "accept" else LABEL_REJECT for r in rows], np.int8)
        found = np.minimum(np.searchsorted(ids, label_ids), len(ids) - 1)
        present = ids[found] == label_ids
        label[found[present]] = decisions[present]
    return label


def read_arrays(engine: Engine) -> dict[str, np.ndarray]:
    """Every pair's id, task code, scores and dedup group, read from the database."""
    task_code = case({name: index for index, name in enumerate(TASKS)}, value=pairs.c.task, else_=-1)
    columns = [pairs.c.id, task_code, *[pairs.c[c] for c in SCORE_COLUMNS], pairs.c.dedup_group]
    data = _numeric_rows(engine, select(*columns).order_by(pairs.c.id))
    group = data[:, -1]
    arrays = {
        "ids": data[:, 0].astype(np.int64),
        "task": data[:, 1].astype(np.int8),
        "group": np.where(np.isnan(group), NO_GROUP, np.nan_to_num(group)).astype(np.int64),
    }
    arrays |= {f"score_{c}": np.ascontiguousarray(data[:, 2 + i]) for i, c in enumerate(SCORE_COLUMNS)}
    return arrays


def load_frame(engine: Engine) -> ScoreFrame:
    """Read every pair's scores and group (from the disk copy when it is current, see ``frame_store``)
    and every label from the database."""
    signature = data_signature(engine)
    arrays = frame_store.load(engine, signature[0])
    if arrays is None or any(f"score_{c}" not in arrays for c in SCORE_COLUMNS):  # older copy: re-read
        arrays = read_arrays(engine)
        frame_store.save(engine, signature[0], arrays)
    return ScoreFrame(
        ids=arrays["ids"],
        task=arrays["task"],
        scores={c: arrays[f"score_{c}"] for c in SCORE_COLUMNS},
        group=arrays["group"],
        label=read_labels(engine, arrays["ids"]),
        signature=signature,
        engine=engine,
    )


_cache: dict[str, ScoreFrame] = {}
_lock = threading.Lock()


def get_frame(engine: Engine, max_stale_s: float = 0.0) -> ScoreFrame:
    """The cached frame for this database, brought up to date with its data signature.

    Only labels changed: just the labels are re-read (milliseconds). Pairs or scores changed: the frame is
    reloaded, unless it is younger than ``max_stale_s`` seconds (default 0: always exact) - the studio can
    pass a few seconds so that a running score job, which commits a batch every moment, does not make
    every threshold move pay a full reload; labels are still refreshed at once.
    """
    key = engine.url.render_as_string(hide_password=False)
    signature = data_signature(engine)
    with _lock:
        frame = _cache.get(key)
        if frame is not None and frame.signature == signature:
            return frame
        young = frame is not None and time.monotonic() - frame.loaded_at < max_stale_s
        if frame is not None and (frame.signature[0] == signature[0] or young):
            frame = frame.with_labels(read_labels(engine, frame.ids), (frame.signature[0], signature[1]))
        else:
            frame = load_frame(engine)
        _cache[key] = frame
        return frame


def invalidate(engine: Engine | None = None) -> None:
    """Forget the cached frame of ``engine`` (or every frame in memory), and its disk copy: the next
    ``get_frame`` reads the database."""
    with _lock:
        if engine is None:
            _cache.clear()
        else:
            _cache.pop(engine.url.render_as_string(hide_password=False), None)
            frame_store.forget(engine)
