"""Job rows as the Generate page shows them: progress, rate, ETA, last log lines. No gradio here."""

from __future__ import annotations

import datetime as dt
from typing import Any

from db import jobs as job_rows
from pipeline.progress import eta_text, format_duration, phase_text, rate_text

__all__ = ["ACTIVE", "JOB_COLUMNS", "eta_text", "format_duration", "job_summary", "job_table",
           "job_line", "kind_progress", "last_log_lines", "progress_text", "rate_text"]  # fmt: skip

JOB_COLUMNS = ["id", "kind", "status", "progress", "rate", "ETA", "started", "error"]
#: Widths that leave the error column (its first line) most of the room.
JOB_WIDTHS = ["4%", "7%", "9%", "12%", "7%", "6%", "13%", "42%"]
ACTIVE = ("queued", "running", "cancel_requested")


def progress_text(row: dict[str, Any], now: dt.datetime | None = None) -> str:
    """The job's phase and its count, e.g. ``generating: 37/320 samples (12%)`` or ``loading teacher (9s)``."""
    if row.get("status") == "queued":
        return "waiting for a worker"
    return phase_text(row, now or job_rows.now())


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
                progress_text(row, now),
                rate_text(row, now, stats.get(row["id"])),
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


def job_line(row: dict[str, Any], now: dt.datetime) -> str:
    """Markdown: ``**Job 5** · running · generating outputs: 32/200 rows (16%) · 6.1 rows/s · ETA 27s``."""
    rate, eta = rate_text(row, now), eta_text(row, now)
    parts = [f"**Job {row['id']}**", row["status"].replace("_", " "), progress_text(row, now)]
    parts += [rate] if rate else []
    parts += [f"ETA {eta}"] if eta else []
    error = (row.get("error") or "").strip().splitlines()
    return " · ".join(parts) + (f" · **Error:** {error[0]}" if error else "")


def kind_progress(engine: Any, kind: str, now: dt.datetime | None = None) -> str:
    """Every unfinished job of ``kind``, and the newest finished one, one Markdown line each."""
    now = now or job_rows.now()
    rows = [r for r in job_rows.recent(engine, 50) if r["kind"] == kind]
    active = [r for r in rows if r["status"] in ACTIVE]
    finished = [r for r in rows if r["status"] not in ACTIVE][:1]
    if not active and not finished:
        return f"No {kind} jobs yet."
    return "\n\n".join(job_line(r, now) for r in [*active, *finished])
