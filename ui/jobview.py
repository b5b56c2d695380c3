"""Job rows as the Generate page shows them: progress, rate, ETA, last log lines. No gradio here."""

from __future__ import annotations

import datetime as dt
from typing import Any

from db import jobs as job_rows

JOB_COLUMNS = ["id", "kind", "status", "progress", "rate", "ETA", "started", "error"]
ACTIVE = ("queued", "running", "cancel_requested")


def _rate_per_s(row: dict[str, Any], now: dt.datetime) -> float | None:
    """Units per second since the job (last) started; ``None`` before there is anything to measure."""
    started, done = row.get("started_at"), row.get("progress_done") or 0
    end = row.get("finished_at") or now
    if started is None or done <= 0:
        return None
    seconds = (end - started).total_seconds()
    return done / seconds if seconds > 0 else None


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def progress_text(row: dict[str, Any]) -> str:
    done, total = row.get("progress_done") or 0, row.get("progress_total") or 0
    if total:
        return f"{done:,}/{total:,} ({100 * done / total:.0f}%)"
    return f"{done:,}"


def eta_text(row: dict[str, Any], now: dt.datetime) -> str:
    """Time left at the current rate, for running jobs only."""
    if row.get("status") not in ("running", "cancel_requested"):
        return ""
    rate = _rate_per_s(row, now)
    left = (row.get("progress_total") or 0) - (row.get("progress_done") or 0)
    if rate is None or left <= 0:
        return ""
    return format_duration(left / rate)


def sentence_rate(row: dict[str, Any], stats: dict[str, Any] | None, now: dt.datetime) -> float | None:
    """Sentences per second of a generate job since its latest start (``db.queries.generation_stats``)."""
    started = row.get("started_at")
    if not stats or started is None or not stats.get("since"):
        return None
    seconds = ((row.get("finished_at") or now) - started).total_seconds()
    return stats["since"] / seconds if seconds > 0 else None


def rate_text(row: dict[str, Any], stats: dict[str, Any] | None, now: dt.datetime) -> str:
    """``12.3 sentences/s`` for a generate job with sentences, else progress units per second."""
    if row.get("kind") == "generate" and stats is not None:
        rate = sentence_rate(row, stats, now)
        return f"{rate:.2f} sentences/s" if rate is not None else ""
    rate = _rate_per_s(row, now)
    return f"{rate:.1f}/s" if rate is not None else ""


def job_table(
    rows: list[dict[str, Any]],
    now: dt.datetime | None = None,
    stats: dict[int, dict[str, Any]] | None = None,
) -> list[list[Any]]:
    """One display row per job, in ``JOB_COLUMNS`` order; ``stats`` (job id -> generation stats) turns a
    generate job's rate into sentences/s."""
    now = now or job_rows.now()
    stats = stats or {}
    table = []
    for row in rows:
        error = (row.get("error") or "").strip().splitlines()
        table.append(
            [
                row["id"],
                row["kind"],
                row["status"],
                progress_text(row),
                rate_text(row, stats.get(row["id"]), now),
                eta_text(row, now),
                row["started_at"].strftime("%Y-%m-%d %H:%M:%S") if row.get("started_at") else "",
                error[0] if error else "",
            ]
        )
    return table


def last_log_lines(row: dict[str, Any] | None, lines: int = 12) -> str:
    if not row:
        return ""
    return "\n".join((row.get("log") or "").strip().splitlines()[-lines:])


def job_summary(row: dict[str, Any] | None, stats: dict[str, Any] | None = None) -> str:
    """Markdown headline for one job: what it is, its state, the decoding backend a generate job used
    (from its sentences' provenance), and its error in full when it failed."""
    if not row:
        return "No job selected."
    params = ", ".join(
        f"{k}={v}" for k, v in sorted((row.get("params") or {}).items()) if v not in (None, "")
    )
    text = f"**Job {row['id']}** · {row['kind']} · **{row['status']}** · {progress_text(row)}"
    if stats and stats.get("backend"):
        text += f" · decoded with **{stats['backend']}**, {stats['sentences']:,} sentences"
    text += f"\n\n`{params}`"
    if row.get("error"):
        first = row["error"].strip().splitlines()[0]
        text += f"\n\n**Error:** {first}"
    return text
