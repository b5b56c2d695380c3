"""The durable job runner: claim a job row, run its handler in batches, record the outcome.

A handler is a function ``handler(ctx: JobContext) -> None`` that does its work in batches, each inside
``with ctx.batch(done=...) as conn:`` so the batch's rows and the job's progress commit together. Handlers
must skip work that is already committed: that is what makes a killed job resume without duplicates.

Handlers are named by import path so that starting the app or the CLI never imports torch.
"""

from __future__ import annotations

import errno
import importlib
import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from db import describe_error
from db import jobs as job_rows
from pipeline import progress

log = logging.getLogger(__name__)

HANDLERS: dict[str, str] = {
    "generate": "pipeline.generate_job:run",
    "score": "pipeline.score_job:run",
    "train": "pipeline.train_job:run",
    "evaluate": "pipeline.evaluate_job:run",
    "distill": "pipeline.distill_job:run",
    "critic": "pipeline.critic_job:run",
    "loop": "pipeline.loop_job:run",
}

STALE_AFTER_S = 60.0
HEARTBEAT_EVERY_S = 10.0
PHASE_WRITE_EVERY_S = 1.0


class JobCancelled(Exception):
    """Raised inside a handler when the user asked the job to stop."""


class UserError(Exception):
    """A problem the user can fix (bad parameter, unloadable model, empty corpus). Its message is shown as is."""


@dataclass
class JobContext:
    """What a handler gets: its parameters, the engine, and progress / log / cancel plumbing."""

    engine: Engine
    job_id: int
    params: dict[str, Any]
    done: int = 0
    total: int = 0
    _last_log: float = field(default=0.0, repr=False)
    _phase: dict[str, Any] | None = field(default=None, repr=False)
    _phase_written: float = field(default=0.0, repr=False)

    def phase(
        self,
        name: str,
        *,
        unit: str | None = None,
        total: int | None = None,
        done: int = 0,
        quiet: bool = False,
    ) -> None:
        """Say what the job does now (``loading teacher``; ``generating`` 0 of 320 ``samples``) and log it
        unless ``quiet``. A phase with a unit moves with ``advance``; its rate and ETA count from now."""
        self._phase = progress.new_phase(name, unit=unit, total=total, done=done, now=job_rows.now())
        self._write_phase()
        if not quiet:
            self.log(name if total is None else f"{name}: {done}/{total} {unit}")

    def advance(self, done: int, *, total: int | None = None) -> None:
        """Move the current phase's count (written at most every ``PHASE_WRITE_EVERY_S``, and at its end)."""
        if self._phase is None:
            return
        self._phase["done"] = done
        if total is not None:
            self._phase["total"] = total
        at_end = self._phase["total"] is not None and done >= self._phase["total"]
        if at_end or time.monotonic() - self._phase_written >= PHASE_WRITE_EVERY_S:
            self._write_phase()

    def _write_phase(self) -> None:
        job_rows.set_phase(self.engine, self.job_id, dict(self._phase or {}))
        self._phase_written = time.monotonic()

    @contextmanager
    def batch(self, *, done: int | None = None, total: int | None = None) -> Iterator[Connection]:
        """One transaction holding a batch's rows and the job's progress. Raises ``JobCancelled`` before
        starting when a cancel was requested (the previous batch stays committed)."""
        self.check_cancelled()
        with self.engine.begin() as conn:
            yield conn
            self.done = self.done if done is None else done
            self.total = self.total if total is None else total
            job_rows.heartbeat(conn, self.job_id, done=self.done, total=self.total)

    def set_progress(self, done: int, total: int | None = None) -> None:
        """Record progress outside a batch (e.g. after a skip on resume)."""
        self.done = done
        self.total = self.total if total is None else total
        with self.engine.begin() as conn:
            job_rows.heartbeat(conn, self.job_id, done=self.done, total=self.total)

    def check_cancelled(self) -> None:
        with self.engine.connect() as conn:
            status = job_rows.heartbeat(conn, self.job_id)
            conn.commit()
        if status == "cancel_requested":
            raise JobCancelled()

    def log(self, message: str) -> None:
        log.info("job %s: %s", self.job_id, message)
        job_rows.append_log(self.engine, self.job_id, message)


def crash_message(exc: BaseException) -> str:
    """The first line stored for a job that crashed: for a database error, what went wrong without the
    SQL statement and row data SQLAlchemy puts in its message."""
    if isinstance(exc, SQLAlchemyError):
        return describe_error(exc)
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return f"Disk full ({exc.filename or exc.strerror}): free some space and resume the job."
    return f"{type(exc).__name__}: {exc}"


def require_models(*models: tuple[str, str | None]) -> None:
    """Refuse at once, with a ``UserError``, any ``(role, spec)`` that cannot load on this machine (an
    offline hub id that is not cached, a missing folder): checked before a job does any other work."""
    from models.availability import ModelUnavailable, check_model

    for role, spec in models:
        try:
            check_model(role, spec)
        except ModelUnavailable as exc:
            raise UserError(str(exc)) from None


def resolve_handler(kind: str) -> Callable[[JobContext], None]:
    if kind not in HANDLERS:
        raise UserError(f"Unknown job kind {kind!r}; known kinds: {', '.join(sorted(HANDLERS))}.")
    module_name, _, func = HANDLERS[kind].partition(":")
    return getattr(importlib.import_module(module_name), func)


def _heartbeat_forever(engine: Engine, job_id: int, stop: threading.Event) -> None:
    """Keep a job's heartbeat fresh while a long step (model load, one big batch) runs."""
    while not stop.wait(HEARTBEAT_EVERY_S):
        try:
            with engine.begin() as conn:
                job_rows.heartbeat(conn, job_id)
        except Exception:  # a transient lock must not kill the job; the next beat retries
            log.debug("heartbeat failed for job %s", job_id, exc_info=True)


def execute(engine: Engine, job_id: int) -> str:
    """Run a job this process has claimed; return its final status (done, failed or cancelled)."""
    row = job_rows.get(engine, job_id)
    if row is None:
        raise KeyError(f"No job with id {job_id}.")
    ctx = JobContext(
        engine, job_id, dict(row["params"]), done=row["progress_done"], total=row["progress_total"]
    )
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat_forever, args=(engine, job_id, stop), daemon=True)
    beat.start()
    try:
        ctx.log(f"{row['kind']} started" if row["progress_done"] == 0 else f"{row['kind']} resumed")
        ctx.phase("starting", quiet=True)  # until the handler names its first phase
        resolve_handler(row["kind"])(ctx)
    except JobCancelled:
        ctx.log("cancelled")
        job_rows.finish(engine, job_id, "cancelled")
        return "cancelled"
    except UserError as exc:
        ctx.log(f"failed: {exc}")
        job_rows.finish(engine, job_id, "failed", str(exc))
        return "failed"
    except Exception as exc:  # record any crash on the row instead of losing it
        message = crash_message(exc)
        frames = "".join(traceback.format_tb(exc.__traceback__))  # where, without the message's row data
        ctx.log(f"failed: {message}")
        job_rows.finish(engine, job_id, "failed", f"{message}\n{type(exc).__name__} at\n{frames}")
        return "failed"
    finally:
        stop.set()
    ctx.log("done")
    job_rows.finish(engine, job_id, "done")
    return "done"


def wait_for_earlier_jobs(engine: Engine, job_id: int, *, poll_s: float = 1.0) -> None:
    """Block while the job waits for earlier unfinished jobs (``db.jobs.WAITS_FOR``), saying so in its log."""
    said = None
    while blockers := job_rows.waiting_for(engine, job_id):
        listed = ", ".join(f"job {b['id']} ({b['kind']}, {b['status']})" for b in blockers)
        if listed != said:
            hint = (
                " (a worker runs queued ones: `impossible worker` or the studio)"
                if any(b["status"] == "queued" for b in blockers)
                else ""
            )
            message = f"waiting for {listed} to finish first{hint}"
            log.info("job %s: %s", job_id, message)
            job_rows.append_log(engine, job_id, message)
            said = listed
        time.sleep(poll_s)


def run_job(engine: Engine, job_id: int, *, stale_after_s: float = STALE_AFTER_S, poll_s: float = 1.0) -> str:
    """Claim and run one job in this process (used by the CLI's foreground mode and ``resume``), after
    the earlier jobs it depends on have finished."""
    wait_for_earlier_jobs(engine, job_id, poll_s=poll_s)
    if not job_rows.claim(engine, job_id, job_rows.this_worker(), stale_after_s):
        row = job_rows.get(engine, job_id)
        if row is None:
            raise UserError(f"No job with id {job_id}.")
        raise UserError(
            f"Job {job_id} is {row['status']} (worker {row['worker']}); it cannot be claimed now. "
            "A running job whose worker died becomes claimable after its heartbeat goes stale."
        )
    return execute(engine, job_id)


def run_worker(
    engine: Engine,
    *,
    poll_s: float = 1.0,
    once: bool = False,
    stop: threading.Event | None = None,
    stale_after_s: float = STALE_AFTER_S,
) -> int:
    """Claim and run jobs until ``stop`` is set (or the queue is empty, with ``once``). Returns jobs run."""
    stop = stop or threading.Event()
    worker = job_rows.this_worker()
    ran = 0
    while not stop.is_set():
        claimed = next(
            (
                i
                for i in job_rows.claimable_ids(engine, stale_after_s)
                if job_rows.claim(engine, i, worker, stale_after_s)
            ),
            None,
        )
        if claimed is None:
            if once:
                break
            time.sleep(poll_s)
            continue
        execute(engine, claimed)
        ran += 1
    return ran
