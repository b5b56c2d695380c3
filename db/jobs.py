"""Job rows: the only truth about a background job (status, progress, heartbeat, log, error).

Every function here is one short transaction. The runner in ``pipeline.runner`` drives these.

Jobs have an order: a queued job waits for the earlier, unfinished jobs whose output it reads on the same
database (``WAITS_FOR``: a score job for the generate / distill jobs queued before it, a train job for the
score jobs before it; ``USES_RUN``: an evaluate or distill job for the job training its run). Such a job is
not claimable until they end (done, failed or cancelled).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update

from db.schema import jobs, training_runs
from db.values import storable_problem

TERMINAL = ("done", "failed", "cancelled")
ACTIVE = ("queued", "running", "cancel_requested")
#: job kind -> kinds of earlier unfinished jobs it waits for (their rows are its input)
WAITS_FOR: dict[str, tuple[str, ...]] = {"score": ("generate", "distill"), "train": ("score",)}
#: job kinds whose ``run`` parameter names a training run; they wait for the job training it
USES_RUN = ("evaluate", "distill")
LOG_KEEP_CHARS = 20_000


def now() -> dt.datetime:
    """The current moment as every timestamp column stores it: naive UTC."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def this_worker() -> str:
    """``host:pid`` of the current process, stored on the job it runs."""
    return f"{socket.gethostname()}:{os.getpid()}"


def submit(engine: Engine, kind: str, params: dict[str, Any], *, parent: int | None = None) -> int:
    """Queue a job (a stage of loop job ``parent``, if given); return its id. Parameters must be strict
    JSON (no NaN, Infinity or NUL): what every backend stores and every reader parses."""
    problem = storable_problem(params)
    if problem:
        raise ValueError(f"Cannot queue the {kind} job: its parameters are not strict JSON ({problem}).")
    with engine.begin() as conn:
        return conn.execute(
            insert(jobs).values(
                kind=kind, params=params, status="queued", log="", created_at=now(), parent_id=parent
            )
        ).inserted_primary_key[0]


def children(engine: Engine, parent: int) -> list[dict[str, Any]]:
    """The jobs loop job ``parent`` queued, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(select(jobs).where(jobs.c.parent_id == parent).order_by(jobs.c.id)).mappings()
        return [dict(r) for r in rows]


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


def _run_job_id(conn: Connection, params: dict[str, Any] | None) -> int | None:
    run = (params or {}).get("run")
    if not isinstance(run, int) or isinstance(run, bool):
        return None
    return conn.execute(select(training_runs.c.job_id).where(training_runs.c.id == run)).scalar()


def _blockers(conn: Connection, job: Any, active: list[Any]) -> list[Any]:
    """The rows of ``active`` (unfinished jobs) that ``job`` must wait for."""
    kinds = WAITS_FOR.get(job.kind, ())
    needed = {row.id for row in active if row.id < job.id and row.kind in kinds}
    if job.kind in USES_RUN:
        trainer = _run_job_id(conn, job.params)
        needed |= {row.id for row in active if row.id == trainer and row.id != job.id}
    return [row for row in active if row.id in needed]


def _active_rows(conn: Connection) -> list[Any]:
    """Unfinished jobs, leaving out a cancel request whose worker died (it will never act on it)."""
    rows = conn.execute(
        select(jobs.c.id, jobs.c.kind, jobs.c.status, jobs.c.worker, jobs.c.heartbeat_at, jobs.c.params)
        .where(jobs.c.status.in_(ACTIVE))
        .order_by(jobs.c.id)
    ).all()
    return [r for r in rows if not (r.status == "cancel_requested" and _worker_is_dead(r.worker))]


def waiting_for(engine: Engine, job_id: int) -> list[dict[str, Any]]:
    """The unfinished jobs (id, kind, status) that job ``job_id`` waits for; empty when it may run."""
    with engine.connect() as conn:
        job = conn.execute(select(jobs.c.id, jobs.c.kind, jobs.c.params).where(jobs.c.id == job_id)).first()
        if job is None:
            return []
        active = _active_rows(conn)
        return [{"id": r.id, "kind": r.kind, "status": r.status} for r in _blockers(conn, job, active)]


def claimable_ids(engine: Engine, stale_after_s: float) -> list[int]:
    """Queued jobs that wait for nothing, and running jobs whose worker died (stale heartbeat or a dead
    pid on this host)."""
    stale_before = now() - dt.timedelta(seconds=stale_after_s)
    with engine.connect() as conn:
        rows = _active_rows(conn)
        ids = []
        for row in rows:
            if row.status == "queued":
                if not _blockers(conn, row, rows):
                    ids.append(row.id)
            elif row.heartbeat_at is None or row.heartbeat_at < stale_before or _worker_is_dead(row.worker):
                ids.append(row.id)
    return ids


def claimed_by(engine: Engine, worker: str) -> int:
    """How many jobs name ``worker`` (``host:pid``) as the process that last ran them."""
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(jobs).where(jobs.c.worker == worker)
        ).scalar_one()


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

    A job whose worker process died is cancelled at once (nobody is left to act on the request). A loop
    job's request reaches the stage it runs now too (its queued stages are cancelled with it). Returns the
    job's status after the request.
    """
    with engine.begin() as conn:
        target = or_(jobs.c.id == job_id, jobs.c.parent_id == job_id)
        conn.execute(
            update(jobs)
            .where(target, jobs.c.status == "queued")
            .values(status="cancelled", finished_at=now())
        )
        conn.execute(update(jobs).where(target, jobs.c.status == "running").values(status="cancel_requested"))
        orphans = conn.execute(
            select(jobs.c.id, jobs.c.worker).where(target, jobs.c.status == "cancel_requested")
        )
        dead = [row.id for row in orphans if _worker_is_dead(row.worker)]  # nobody left to stop: stopped now
        if dead:
            conn.execute(
                update(jobs).where(jobs.c.id.in_(dead)).values(status="cancelled", finished_at=now())
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
