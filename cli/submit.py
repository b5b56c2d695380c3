"""The one way every CLI command queues a job: submit it, then run it here or leave it to a worker, with
one exit-code rule (0: done or queued; 1: the job ran and did not finish, its first error line printed)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from db import display_url
from db import jobs as job_rows


def submit(
    engine: Engine, db_url: str, kind: str, params: dict[str, Any], *, background: bool
) -> tuple[int, str]:
    """Queue a ``kind`` job with ``params`` as given; unless ``background``, run it in this process.
    Returns (job id, status: ``queued``, ``done``, ...)."""
    from pipeline import runner

    job_id = job_rows.submit(engine, kind, params)
    print(f"job {job_id}", flush=True)
    if background:
        print(f"queued; `impossible worker --db {display_url(db_url)}` (or the studio) runs it")
        return job_id, "queued"
    status = runner.run_job(engine, job_id)
    if status != "done":
        row = job_rows.get(engine, job_id)
        print(f"job {job_id}: {status} ({kind})")
        print(f"error: {(row['error'] or status).strip().splitlines()[0]}")
    return job_id, status


def given(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` without the ones left ``None`` (not given: the job's defaults apply)."""
    return {k: v for k, v in params.items() if v is not None}


def exit_code(status: str) -> int:
    """The exit code for a job's status after ``submit``."""
    return 0 if status in ("done", "queued") else 1
