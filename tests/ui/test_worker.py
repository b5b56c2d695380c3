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
