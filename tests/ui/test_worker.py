"""The studio's worker supervisor: a worker process only when jobs wait, gone when the queue is empty."""

from __future__ import annotations

from db import jobs as job_rows
from tests.ui.studio import wait_for
from ui.worker import WorkerProcess


def test_a_worker_starts_only_for_waiting_jobs_and_exits_when_the_queue_is_empty(engine, db_url):
    worker = WorkerProcess(db_url, engine=engine, check_every_s=3600)  # drive it by hand, not by the thread
    try:
        assert worker.ensure_running() is False and worker.pid is None  # nothing to do: no process
        job = job_rows.submit(engine, "no_such_kind", {})
        assert worker.ensure_running() is True
        pid = worker.pid
        assert worker.ensure_running() is False  # one worker at a time
        wait_for(lambda: not worker.alive(), timeout_s=90, what="the worker to exit")
        row = job_rows.get(engine, job)
        assert row["status"] == "failed" and "Unknown job kind 'no_such_kind'" in row["error"]
        assert row["worker"].endswith(f":{pid}")  # it ran in the worker process
        assert worker.ensure_running() is False and worker.restarts == 0  # a clean exit is not a death
    finally:
        worker.stop()


def test_a_relative_sqlite_url_reaches_the_same_database_from_the_workers_folder(tmp_path, monkeypatch):
    """The studio started in another folder with ``--db sqlite:///rel.db``: its worker must run the job."""
    from db import connect

    monkeypatch.chdir(tmp_path)  # the worker itself runs from the repository folder
    engine = connect("sqlite:///rel.db")
    worker = WorkerProcess("sqlite:///rel.db", engine=engine, check_every_s=3600)
    try:
        job = job_rows.submit(engine, "no_such_kind", {})
        assert worker.ensure_running() is True
        wait_for(lambda: job_rows.get(engine, job)["status"] == "failed", timeout_s=90, what="the job to run")
        assert job_rows.get(engine, job)["worker"].endswith(f":{worker.pid}")
    finally:
        worker.stop()
        engine.dispose()


def test_a_worker_that_claims_nothing_is_not_restarted_in_a_loop(engine, tmp_path):
    """A worker opening another database exits at once; the supervisor backs off and says why."""
    job_rows.submit(engine, "no_such_kind", {})
    elsewhere = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    worker = WorkerProcess(elsewhere, engine=engine, check_every_s=3600)
    try:
        assert worker.ensure_running() is True
        wait_for(lambda: not worker.alive(), timeout_s=90, what="the worker to exit")
        for _ in range(5):
            assert worker.ensure_running() is False  # backing off, not respawning
        assert worker.started == 1 and worker.idle_exits == 1
        assert "exited without claiming a job" in worker.problem and "elsewhere.db" in worker.problem
    finally:
        worker.stop()


def test_the_worker_hint_and_command_previews_hide_the_database_password(ctx):
    from cli.student_cmds import evaluate_command, train_command
    from ui.generate import worker_status
    from ui.job_forms import generate_command, score_command

    ctx.db_url = "postgresql+psycopg://studio:SECRET@db.example/studio"
    shown = [
        worker_status(ctx),
        generate_command(ctx.db_url, {"teacher": "embedded"}),
        score_command(ctx.db_url, {}),
        train_command(ctx.db_url, {"version": "v1"}),
        evaluate_command(ctx.db_url, {"run": 1, "benchmark": "b.txt"}),
    ]
    for text in shown:
        assert "SECRET" not in text and "studio:***@db.example" in text, text


def test_background_messages_hide_the_database_password(engine, monkeypatch, capsys):
    import cli
    import cli.score_cmds
    import db

    url = "postgresql+psycopg://studio:SECRET@db.example/studio"
    monkeypatch.setattr(db, "connect", lambda *_a, **_k: engine)
    monkeypatch.setattr(cli.score_cmds, "connect", lambda *_a, **_k: engine)
    assert cli.main(["generate", "--db", url, "--background"]) == 0
    assert cli.main(["score", "--db", url, "--background"]) == 0
    out = capsys.readouterr().out
    assert "SECRET" not in out and out.count("studio:***@db.example") == 3, out
