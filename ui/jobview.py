"""Job rows as the Generate page shows them: progress, rate, ETA, last log lines. No gradio here."""

from __future__ import annotations

import datetime as dt
from typing import Any

from db import jobs as job_rows

JOB_COLUMNS = ["id", "kind", "status", "progress", "rate", "ETA", "started", "error"]
#: Widths that leave the error column (its first line) most of the room.
JOB_WIDTHS = ["4%", "7%", "9%", "12%", "7%", "6%", "13%", "42%"]
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


def job_table(rows: list[dict[str, Any]], now: dt.datetime | None = None) -> list[list[Any]]:
    """One display row per job, in ``JOB_COLUMNS`` order."""
    now = now or job_rows.now()
    table = []
    for row in rows:
        rate = _rate_per_s(row, now)
        error = (row.get("error") or "").strip().splitlines()
        table.append(
            [
                row["id"],
                row["kind"],
                row["status"],
                progress_text(row),
                f"{rate:.1f}/s" if rate is not None else "",
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


def job_summary(row: dict[str, Any] | None) -> str:
    """Markdown headline for one job: what it is, its state, and its error in full when it failed."""
    if not row:
        return "No job selected."
    params = ", ".join(
        f"{k}={v}" for k, v in sorted((row.get("params") or {}).items()) if v not in (None, "")
    )
    text = f"**Job {row['id']}** · {row['kind']} · **{row['status']}** · {progress_text(row)}\n\n`{params}`"
    if row.get("error"):
        first = row["error"].strip().splitlines()[0]
        text += f"\n\n**Error:** {first}"
    return text
