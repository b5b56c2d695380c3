"""Job rows: the only truth about a background job (status, progress, heartbeat, log, error).

Every function here is one short transaction. The runner in ``pipeline.runner`` drives these.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from typing import Any

from sqlalchemy import Connection, Engine, and_, insert, or_, select, update

from db.schema import jobs

TERMINAL = ("done", "failed", "cancelled")
LOG_KEEP_CHARS = 20_000


def now() -> dt.datetime:
    """The current moment as every timestamp column stores it: naive UTC."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def this_worker() -> str:
    """``host:pid`` of the current process, stored on the job it runs."""
    return f"{socket.gethostname()}:{os.getpid()}"


def submit(engine: Engine, kind: str, params: dict[str, Any]) -> int:
    """Queue a job; return its id."""
    with engine.begin() as conn:
        return conn.execute(
            insert(jobs).values(kind=kind, params=params, status="queued", log="", created_at=now())
        ).inserted_primary_key[0]


def get(engine: Engine, job_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
    return dict(row) if row else None


def recent(engine: Engine, limit: int = 50) -> list[dict[str, Any]]:
    """The newest jobs first."""
    with engine.connect() as conn:
        rows = conn.execute(select(jobs).order_by(jobs.c.id.desc()).limit(limit)).mappings().all()
    return [dict(r) for r in rows]


def _worker_is_dead(worker: str | None) -> bool:
    """True when ``worker`` names a process on this host that no longer exists."""
    if not worker or ":" not in worker:
        return False
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def claimable_ids(engine: Engine, stale_after_s: float) -> list[int]:
    """Queued jobs, and running jobs whose worker died (stale heartbeat or a dead pid on this host)."""
    stale_before = now() - dt.timedelta(seconds=stale_after_s)
    with engine.connect() as conn:
        rows = conn.execute(
            select(jobs.c.id, jobs.c.status, jobs.c.worker, jobs.c.heartbeat_at)
            .where(jobs.c.status.in_(("queued", "running", "cancel_requested")))
            .order_by(jobs.c.id)
        ).all()
    ids = []
    for job_id, status, worker, heartbeat in rows:
        if status == "queued" or heartbeat is None or heartbeat < stale_before or _worker_is_dead(worker):
            ids.append(job_id)
    return ids


def claim(engine: Engine, job_id: int, worker: str, stale_after_s: float) -> bool:
    """Atomically take a job for ``worker``; False when another worker holds it."""
    stale_before = now() - dt.timedelta(seconds=stale_after_s)
    with engine.begin() as conn:
        row = conn.execute(select(jobs.c.status, jobs.c.worker).where(jobs.c.id == job_id)).first()
        if row is None:
            return False
        abandoned = [jobs.c.heartbeat_at.is_(None), jobs.c.heartbeat_at < stale_before]
        if row.status in ("running", "cancel_requested") and _worker_is_dead(row.worker):
            abandoned.append(jobs.c.worker == row.worker)
        result = conn.execute(
            update(jobs)
            .where(
                jobs.c.id == job_id,
                or_(
                    jobs.c.status == "queued",
                    and_(jobs.c.status.in_(("running", "cancel_requested")), or_(*abandoned)),
                ),
            )
            .values(
                status="running" if row.status != "cancel_requested" else "cancel_requested",
                worker=worker,
                heartbeat_at=now(),
                started_at=now(),
                error=None,
            )
        )
        return result.rowcount == 1


def heartbeat(conn: Connection, job_id: int, *, done: int | None = None, total: int | None = None) -> str:
    """Touch the heartbeat (and progress) inside the caller's transaction; return the current status."""
    values: dict[str, Any] = {"heartbeat_at": now()}
    if done is not None:
        values["progress_done"] = done
    if total is not None:
        values["progress_total"] = total
    conn.execute(update(jobs).where(jobs.c.id == job_id).values(**values))
    return conn.execute(select(jobs.c.status).where(jobs.c.id == job_id)).scalar_one()


def set_phase(engine: Engine, job_id: int, phase: dict[str, Any]) -> None:
    """Store the job's current phase (and touch its heartbeat) in one short transaction."""
    with engine.begin() as conn:
        conn.execute(update(jobs).where(jobs.c.id == job_id).values(phase=phase, heartbeat_at=now()))


def append_log(engine: Engine, job_id: int, line: str) -> None:
    """Add one timestamped line to the job's log (the newest ``LOG_KEEP_CHARS`` are kept)."""
    stamp = now().strftime("%H:%M:%S")
    with engine.begin() as conn:
        old = conn.execute(select(jobs.c.log).where(jobs.c.id == job_id)).scalar_one() or ""
        text = (old + f"{stamp} {line}\n")[-LOG_KEEP_CHARS:]
        conn.execute(update(jobs).where(jobs.c.id == job_id).values(log=text))


def finish(engine: Engine, job_id: int, status: str, error: str | None = None) -> None:
    assert status in TERMINAL, status
    with engine.begin() as conn:
        conn.execute(
            update(jobs).where(jobs.c.id == job_id).values(status=status, error=error, finished_at=now())
        )


def request_cancel(engine: Engine, job_id: int) -> str:
    """Ask a job to stop. A queued job is cancelled at once; a running one stops after its current batch.

    Returns the job's status after the request.
    """
    with engine.begin() as conn:
        conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.status == "queued")
            .values(status="cancelled", finished_at=now())
        )
        conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.status == "running")
            .values(status="cancel_requested")
        )
        status = conn.execute(select(jobs.c.status).where(jobs.c.id == job_id)).scalar()
    if status is None:
        raise KeyError(f"No job with id {job_id}.")
    return status


def requeue(engine: Engine, job_id: int) -> None:
    """Put a failed or cancelled job back in the queue; it resumes from what it committed."""
    with engine.begin() as conn:
        conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.status.in_(("failed", "cancelled")))
            .values(status="queued", error=None, finished_at=None)
        )
