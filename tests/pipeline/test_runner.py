"""The durable job runner: progress commits with the batch, errors and cancels are recorded on the row."""

import sqlite3
import threading

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import OperationalError

from db import jobs as job_rows
from db.schema import contexts
from pipeline import runner

CALLS: list[int] = []


def counting_handler(ctx: runner.JobContext) -> None:
    """Writes one context row per batch, skipping batches already committed (like every real handler)."""
    total = ctx.params["batches"]
    with ctx.engine.connect() as conn:
        done = conn.execute(
            select(func.count()).select_from(contexts).where(contexts.c.job_id == ctx.job_id)
        ).scalar()
    for seq in range(done, total):
        if seq == ctx.params.get("fail_at"):
            raise RuntimeError(f"boom at batch {seq}")
        if seq == ctx.params.get("user_error_at"):
            raise runner.UserError("the corpus is empty; pass a file with at least one sentence")
        if seq == ctx.params.get("disk_full_at"):
            raise OperationalError(
                "INSERT INTO pairs (source) VALUES (?)",
                [("PRIVATE ROW TEXT",)],
                sqlite3.OperationalError("database or disk is full"),
            )
        if seq == ctx.params.get("cancel_at"):
            job_rows.request_cancel(ctx.engine, ctx.job_id)
        with ctx.batch(done=seq + 1, total=total) as conn:
            conn.execute(insert(contexts).values(job_id=ctx.job_id, seq=seq, text=f"c{seq}", origin="corpus"))
        CALLS.append(seq)


@pytest.fixture(autouse=True)
def fake_kind(monkeypatch):
    monkeypatch.setitem(runner.HANDLERS, "fake", "tests.pipeline.test_runner:counting_handler")
    CALLS.clear()


def rows_for(engine, job_id):
    with engine.connect() as conn:
        return (
            conn.execute(select(contexts.c.seq).where(contexts.c.job_id == job_id).order_by(contexts.c.seq))
            .scalars()
            .all()
        )


def test_job_runs_to_done_with_progress(any_engine):
    engine = any_engine
    job_id = job_rows.submit(engine, "fake", {"batches": 3})
    assert runner.run_job(engine, job_id) == "done"
    row = job_rows.get(engine, job_id)
    assert (row["status"], row["progress_done"], row["progress_total"]) == ("done", 3, 3)
    assert "done" in row["log"]
    assert rows_for(engine, job_id) == [0, 1, 2]


def test_crash_is_recorded_and_resume_continues_without_duplicates(any_engine):
    engine = any_engine
    job_id = job_rows.submit(engine, "fake", {"batches": 4, "fail_at": 2})
    assert runner.run_job(engine, job_id) == "failed"
    row = job_rows.get(engine, job_id)
    assert "boom at batch 2" in row["error"] and row["progress_done"] == 2
    # the user fixes the cause and resumes: committed batches are not redone
    with engine.begin() as conn:
        conn.execute(job_rows.jobs.update().where(job_rows.jobs.c.id == job_id).values(params={"batches": 4}))
    job_rows.requeue(engine, job_id)
    assert runner.run_job(engine, job_id) == "done"
    assert rows_for(engine, job_id) == [0, 1, 2, 3]


def test_user_error_message_is_stored_without_traceback(engine):
    job_id = job_rows.submit(engine, "fake", {"batches": 2, "user_error_at": 0})
    assert runner.run_job(engine, job_id) == "failed"
    assert (
        job_rows.get(engine, job_id)["error"] == "the corpus is empty; pass a file with at least one sentence"
    )


def test_cancel_takes_effect_before_the_next_batch_and_keeps_committed_ones(engine):
    job_id = job_rows.submit(engine, "fake", {"batches": 5, "cancel_at": 2})
    assert runner.run_job(engine, job_id) == "cancelled"
    assert rows_for(engine, job_id) == [0, 1]
    assert job_rows.get(engine, job_id)["status"] == "cancelled"


def test_cancel_of_a_queued_job_is_immediate(engine):
    job_id = job_rows.submit(engine, "fake", {"batches": 1})
    assert job_rows.request_cancel(engine, job_id) == "cancelled"
    assert runner.run_worker(engine, once=True) == 0


def test_a_claimed_job_cannot_be_claimed_twice(engine):
    job_id = job_rows.submit(engine, "fake", {"batches": 1})
    assert job_rows.claim(engine, job_id, "otherhost:1", 60)
    assert not job_rows.claim(engine, job_id, "otherhost:2", 60)
    with pytest.raises(runner.UserError, match="cannot be claimed"):
        runner.run_job(engine, job_id)


def test_job_of_a_dead_worker_is_reclaimed(engine):
    job_id = job_rows.submit(engine, "fake", {"batches": 2})
    dead = f"{job_rows.this_worker().rsplit(':', 1)[0]}:999999"  # no such pid on this host
    assert job_rows.claim(engine, job_id, dead, 60)
    assert job_id in job_rows.claimable_ids(engine, stale_after_s=60)
    assert runner.run_worker(engine, once=True) == 1
    assert job_rows.get(engine, job_id)["status"] == "done"


def test_stale_heartbeat_makes_a_job_claimable(engine):
    job_id = job_rows.submit(engine, "fake", {"batches": 1})
    assert job_rows.claim(engine, job_id, "remotehost:5", 60)
    assert job_id not in job_rows.claimable_ids(engine, stale_after_s=60)
    assert job_id in job_rows.claimable_ids(engine, stale_after_s=-1)


def test_worker_stops_when_asked(engine):
    stop = threading.Event()
    thread = threading.Thread(target=runner.run_worker, args=(engine,), kwargs={"poll_s": 0.05, "stop": stop})
    thread.start()
    job_id = job_rows.submit(engine, "fake", {"batches": 2})
    for _ in range(200):
        if job_rows.get(engine, job_id)["status"] == "done":
            break
        threading.Event().wait(0.05)
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert job_rows.get(engine, job_id)["status"] == "done"


def test_unknown_kind_fails_clearly(engine):
    job_id = job_rows.submit(engine, "nonsense", {})
    assert runner.run_job(engine, job_id) == "failed"
    assert "Unknown job kind 'nonsense'" in job_rows.get(engine, job_id)["error"]


def test_a_full_disk_fails_the_job_with_one_line_and_no_row_data(engine):
    job_id = job_rows.submit(engine, "fake", {"batches": 3, "disk_full_at": 1})
    assert runner.run_job(engine, job_id) == "failed"
    row = job_rows.get(engine, job_id)
    assert row["error"].splitlines()[0].startswith("Disk full: the database could not be written")
    assert "PRIVATE ROW TEXT" not in row["error"] + row["log"] and "INSERT" not in row["error"] + row["log"]
    assert "counting_handler" in row["error"]  # the frames of the traceback are kept for debugging


SEEN_BY_SCORE: list[int] = []


def slow_generate_handler(ctx: runner.JobContext) -> None:
    """Like ``counting_handler``, with a pause per batch so a second worker has time to look for work."""
    for seq in range(ctx.params["batches"]):
        threading.Event().wait(0.1)
        with ctx.batch(done=seq + 1, total=ctx.params["batches"]) as conn:
            conn.execute(insert(contexts).values(job_id=ctx.job_id, seq=seq, text=f"c{seq}", origin="corpus"))


def recording_score_handler(ctx: runner.JobContext) -> None:
    """Records how many generated rows existed when the score job started."""
    with ctx.engine.connect() as conn:
        SEEN_BY_SCORE.append(conn.execute(select(func.count()).select_from(contexts)).scalar())


def test_a_job_waits_for_the_earlier_jobs_it_depends_on(engine):
    from tests.pipeline.students import make_version

    generate_1, generate_2 = (job_rows.submit(engine, "generate", {}) for _ in range(2))
    score = job_rows.submit(engine, "score", {})
    train = job_rows.submit(engine, "train", {"version": "v1"})
    assert job_rows.claimable_ids(engine, 60) == [generate_1, generate_2]
    assert job_rows.claim(engine, generate_1, "otherhost:1", 60)
    assert job_rows.claim(engine, generate_2, "otherhost:2", 60)  # a second worker
    assert job_rows.claimable_ids(engine, 60) == []  # the score job waits for both, the train job for it
    assert [b["id"] for b in job_rows.waiting_for(engine, score)] == [generate_1, generate_2]
    job_rows.finish(engine, generate_1, "done")
    assert job_rows.claimable_ids(engine, 60) == []
    job_rows.finish(engine, generate_2, "failed")  # a failed producer does not block forever
    assert job_rows.claimable_ids(engine, 60) == [score]
    assert job_rows.claim(engine, score, "otherhost:3", 60)
    job_rows.finish(engine, score, "done")
    assert job_rows.claimable_ids(engine, 60) == [train]
    # an evaluation of a run waits for the job that trains it
    from db import runs

    version = make_version(engine)
    runs.create_run(engine, job_id=train, version_id=version["id"], recipe_hash="h", student="s",
                    config={}, output_dir="")  # fmt: skip
    evaluate = job_rows.submit(engine, "evaluate", {"run": 1, "benchmark": "b"})
    assert job_rows.claimable_ids(engine, 60) == [train]
    assert job_rows.claim(engine, train, "otherhost:4", 60)
    job_rows.finish(engine, train, "done")
    assert job_rows.claimable_ids(engine, 60) == [evaluate]


def test_two_workers_never_score_before_the_generation_queued_earlier_ends(engine, monkeypatch):
    monkeypatch.setitem(runner.HANDLERS, "generate", "tests.pipeline.test_runner:slow_generate_handler")
    monkeypatch.setitem(runner.HANDLERS, "score", "tests.pipeline.test_runner:recording_score_handler")
    SEEN_BY_SCORE.clear()
    generates = [job_rows.submit(engine, "generate", {"batches": n}) for n in (2, 6)]  # one ends early
    score = job_rows.submit(engine, "score", {})
    stop = threading.Event()
    workers = [
        threading.Thread(target=runner.run_worker, args=(engine,), kwargs={"poll_s": 0.05, "stop": stop})
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    try:
        for _ in range(400):
            if job_rows.get(engine, score)["status"] == "done":
                break
            threading.Event().wait(0.05)
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=10)
    assert [job_rows.get(engine, j)["status"] for j in [*generates, score]] == ["done"] * 3
    assert SEEN_BY_SCORE == [8]  # it saw every generated row, not a part of them


def test_run_job_waits_for_a_running_producer_and_says_so(engine, monkeypatch):
    monkeypatch.setitem(runner.HANDLERS, "score", "tests.pipeline.test_runner:recording_score_handler")
    SEEN_BY_SCORE.clear()
    generate = job_rows.submit(engine, "generate", {})
    assert job_rows.claim(engine, generate, "otherhost:1", 60)  # another worker is generating
    score = job_rows.submit(engine, "score", {})
    finisher = threading.Timer(0.5, job_rows.finish, args=(engine, generate, "done"))
    finisher.start()
    assert runner.run_job(engine, score, poll_s=0.05) == "done"
    assert (
        f"waiting for job {generate} (generate, running) to finish first"
        in job_rows.get(engine, score)["log"]
    )
