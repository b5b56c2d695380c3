"""Job verbs: ``worker``, ``jobs``, ``cancel``, ``resume``."""

from __future__ import annotations

import argparse
import datetime as dt

from cli import add_db_argument
from db import connect
from db import jobs as job_rows
from pipeline import runner
from pipeline.progress import eta_text, phase_text, rate_text


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("worker", help="run queued jobs (and resume abandoned ones) until stopped")
    add_db_argument(p)
    p.add_argument("--once", action="store_true", help="exit when the queue is empty")
    p.add_argument("--poll", type=float, default=1.0, help="seconds between queue checks (default 1)")
    p.set_defaults(handler=cmd_worker)

    p = subparsers.add_parser("jobs", help="list jobs, newest first")
    add_db_argument(p)
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(handler=cmd_jobs)

    p = subparsers.add_parser("cancel", help="ask a job to stop after its current batch")
    add_db_argument(p)
    p.add_argument("job", type=int)
    p.set_defaults(handler=cmd_cancel)

    p = subparsers.add_parser(
        "resume", help="continue a killed, failed or cancelled job from its last committed batch"
    )
    add_db_argument(p)
    p.add_argument("job", type=int)
    p.set_defaults(handler=cmd_resume)


def cmd_worker(args: argparse.Namespace) -> int:
    engine = connect(args.db)
    ran = runner.run_worker(engine, poll_s=args.poll, once=args.once)
    print(f"worker ran {ran} job(s)")
    return 0


def format_job(row: dict, now: dt.datetime | None = None, stats: dict | None = None) -> str:
    """One line per job: id, kind, status, phase and progress, rate and ETA, created, first error line.
    ``stats`` (``db.queries.generation_stats``) adds a generate job's sentences/s and backend."""
    now = now or job_rows.now()
    progress = "waiting for a worker" if row["status"] == "queued" else phase_text(row, now)
    rate, eta = rate_text(row, now, stats), eta_text(row, now)
    backend = f"({stats['backend']})" if stats and stats.get("backend") else ""
    extra = "".join(f"  {part}" for part in (rate, backend, f"ETA {eta}" if eta else "") if part)
    error = f"  error: {row['error'].splitlines()[0]}" if row["error"] else ""
    return (
        f"{row['id']:>5}  {row['kind']:<9} {row['status']:<16} {row['created_at']:%Y-%m-%d %H:%M}  "
        f"{progress}{extra}{error}"
    )


def _generation_stats(engine, row: dict) -> dict | None:
    """A running generate job's sentence counts and backend (for its sentences/s), else None."""
    if row["kind"] != "generate" or row["status"] not in ("running", "cancel_requested"):
        return None
    from db.queries import generation_stats

    return generation_stats(engine, row["id"], row["started_at"])


def cmd_jobs(args: argparse.Namespace) -> int:
    engine = connect(args.db)
    for row in job_rows.recent(engine, args.limit):
        print(format_job(row, stats=_generation_stats(engine, row)))
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    status = job_rows.request_cancel(connect(args.db), args.job)
    print(f"job {args.job}: {status}")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    engine = connect(args.db)
    row = job_rows.get(engine, args.job)
    if row is None:
        raise runner.UserError(f"No job with id {args.job}.")
    if row["status"] == "done":
        print(f"job {args.job} is already done")
        return 0
    job_rows.requeue(engine, args.job)
    status = runner.run_job(engine, args.job)
    print(f"job {args.job}: {status}")
    return 0 if status == "done" else 1
