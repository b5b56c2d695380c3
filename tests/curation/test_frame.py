"""The numpy ScoreFrame must keep exactly the pairs the SQL selection keeps, and reload when data changes."""

from __future__ import annotations

import numpy as np
import pytest

from curation import frame as frames
from curation.recipe import Recipe
from curation.review import set_label
from curation.select import selected_ids
from db import jobs as job_rows
from db.schema import jobs
from tests.curation.helpers import add_pairs, add_scored, random_labels, random_scores


def random_recipe(rng: np.random.Generator, task: str) -> Recipe:
    semantic = "nli" if rng.random() < 0.5 else "embedding"
    base = Recipe.default(task, semantic)
    mins = {c: float(rng.choice([v, v, 0.7, 0.75, 0.8, 0.9])) for c, v in base.min.items()}
    maxs = {
        c: max(float(rng.choice([v, v, 0.75, 0.9])) * (2 if c == "length_ratio" else 1), mins.get(c, 0.0))
        for c, v in base.max.items()
    }
    return Recipe(task, mins, maxs, dedup=bool(rng.random() < 0.7))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_frame_agrees_with_sql_on_random_data_with_labels_and_dedup(engine, seed):
    ids = random_scores(engine, 400, seed)
    rng = np.random.default_rng(seed)
    random_labels(engine, ids, 40, seed)
    frame = frames.get_frame(engine)
    for _ in range(15):
        recipe = random_recipe(rng, str(rng.choice(["paraphrase", "summary"])))
        expected = selected_ids(engine, recipe)
        assert np.array_equal(frame.selection(recipe), expected), recipe


def test_frame_is_cached_until_data_changes(engine):
    add_scored(engine)
    first = frames.get_frame(engine)
    assert frames.get_frame(engine) is first
    pair_id = add_scored(engine)  # new pairs change the signature
    second = frames.get_frame(engine)
    assert second is not first and len(second) == 2
    set_label(engine, pair_id, "reject")
    relabelled = frames.get_frame(engine)
    assert relabelled.label.tolist() == [0, -1]
    assert relabelled.scores["rouge_l"] is second.scores["rouge_l"]  # labels alone: scores not re-read


def test_stale_frame_is_served_within_max_stale_but_labels_are_fresh(engine):
    first_id = add_scored(engine)
    frame = frames.get_frame(engine)
    add_pairs(engine, 1)  # a generate job's insert: no explicit invalidation
    set_label(engine, first_id, "accept")
    stale = frames.get_frame(engine, max_stale_s=60)
    assert len(stale) == 1 and stale.label.tolist() == [1]
    assert len(frames.get_frame(engine)) == 2  # the default is exact
    assert frame.label.tolist() == [0]  # an older frame object is never mutated


def test_score_job_progress_invalidates_the_frame(engine):
    add_scored(engine)
    first = frames.get_frame(engine)
    job_id = job_rows.submit(engine, "score", {})
    with engine.begin() as conn:
        job_rows.heartbeat(conn, job_id, done=10, total=20)
    assert frames.get_frame(engine) is not first


def test_training_progress_does_not_invalidate_the_frame(engine):
    add_scored(engine)
    job_id = job_rows.submit(engine, "train", {})
    first = frames.get_frame(engine)
    with engine.begin() as conn:
        conn.execute(jobs.update().where(jobs.c.id == job_id).values(progress_done=5))
    assert frames.get_frame(engine) is first


def test_relabel_is_seen_by_a_second_process_view(engine):
    """Another process relabelling (no in-process invalidate) still changes the signature."""
    pair_id = add_scored(engine)
    set_label(engine, pair_id, "accept")
    before = frames.data_signature(engine)
    set_label(engine, pair_id, "reject")
    assert frames.data_signature(engine) != before


def test_empty_database_gives_empty_selection(engine):
    frame = frames.get_frame(engine)
    assert len(frame) == 0
    assert frame.selection(Recipe.default()).tolist() == []


def test_frame_agrees_with_sql_on_every_backend(any_engine):
    """The same agreement on PostgreSQL (when IMPOSSIBLE_TEST_PG_URL is set) as on SQLite."""
    ids = random_scores(any_engine, 200, 5)
    rng = np.random.default_rng(5)
    random_labels(any_engine, ids, 20, 5)
    frame = frames.get_frame(any_engine)
    for _ in range(8):
        recipe = random_recipe(rng, str(rng.choice(["paraphrase", "summary"])))
        assert np.array_equal(frame.selection(recipe), selected_ids(any_engine, recipe)), recipe


def test_disk_copy_is_used_only_while_current(engine, tmp_path, monkeypatch):
    from curation import frame_store

    monkeypatch.setenv(frame_store.ENV, str(tmp_path / "frames"))
    monkeypatch.setattr(frame_store, "MIN_PAIRS", 1)
    first = add_scored(engine)
    frames.load_frame(engine)
    assert frame_store.path_for(engine).exists()
    calls = []
    monkeypatch.setattr(frames, "read_arrays", lambda e: calls.append(e) or pytest.fail("read the database"))
    set_label(engine, first, "accept")
    reopened = frames.load_frame(engine)  # a fresh process: arrays from disk, labels from the database
    assert reopened.ids.tolist() == [first] and reopened.label.tolist() == [1]
    monkeypatch.undo()
    monkeypatch.setenv(frame_store.ENV, str(tmp_path / "frames"))
    monkeypatch.setattr(frame_store, "MIN_PAIRS", 1)
    add_pairs(engine, 1)  # max id moves on: the copy no longer matches
    assert len(frames.load_frame(engine)) == 2
    frames.invalidate(engine)
    assert not frame_store.path_for(engine).exists()
