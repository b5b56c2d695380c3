"""A job's phase and the progress, rate and ETA shown for it, read from its row. No gradio, no torch.

A handler names what it is doing (``JobContext.phase``: loading a model, sampling contexts, generating,
scoring stage N of M, training, evaluating rows) and moves the phase's count as work finishes
(``JobContext.advance``). The row's ``phase`` holds ``{"name", "unit", "done", "total", "since", "from"}``;
the rate is the phase's own throughput (units since the phase began / seconds since it began), so a slow
model load never drags the rate of the work that follows, and a resumed phase counts only what this run
did. ``progress_done`` / ``progress_total`` stay the committed, durable count the job resumes from.
"""

from __future__ import annotations

import datetime as dt
from typing import Any


def new_phase(name: str, *, unit: str | None, total: int | None, done: int, now: dt.datetime) -> dict:
    """The stored form of a phase that begins ``now`` with ``done`` units already behind it."""
    return {"name": name, "unit": unit, "done": done, "total": total, "since": now.isoformat(), "from": done}


def _since(phase: dict[str, Any]) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(phase["since"])
    except (KeyError, TypeError, ValueError):
        return None


def _end(row: dict[str, Any], now: dt.datetime) -> dt.datetime:
    return row.get("finished_at") or now


def phase_rate(row: dict[str, Any], now: dt.datetime) -> float | None:
    """Units per second in the current (or, for a finished job, the last) phase; ``None`` before any."""
    phase = row.get("phase") or {}
    since, moved = _since(phase), (phase.get("done") or 0) - (phase.get("from") or 0)
    if since is None or moved <= 0 or not phase.get("unit"):
        return None
    seconds = (_end(row, now) - since).total_seconds()
    return moved / seconds if seconds > 0 else None


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def format_rate(rate: float | None, unit: str | None) -> str:
    """``12.3 pairs/s``, ``4.0 samples/min``, or ``2m 10s per step`` for slow work; never ``0.0/s``."""
    if not rate or rate <= 0:
        return ""
    unit = unit or "units"
    if rate >= 1:
        return f"{rate:.1f} {unit}/s"
    if rate * 60 >= 1:
        return f"{rate * 60:.1f} {unit}/min"
    return f"{format_duration(1 / rate)} per {unit.rstrip('s') or unit}"


def sentence_rate(row: dict[str, Any], stats: dict[str, Any] | None, now: dt.datetime) -> float | None:
    """Sentences per second of a generate job since its latest start (``db.queries.generation_stats``)."""
    started = row.get("started_at")
    if not stats or started is None or not stats.get("since"):
        return None
    seconds = (_end(row, now) - started).total_seconds()
    return stats["since"] / seconds if seconds > 0 else None


def rate_text(row: dict[str, Any], now: dt.datetime, stats: dict[str, Any] | None = None) -> str:
    """The phase's rate; a generate job with ``stats`` (its sentences) also shows sentences/s."""
    text = format_rate(phase_rate(row, now), (row.get("phase") or {}).get("unit"))
    sentences = sentence_rate(row, stats, now) if row.get("kind") == "generate" else None
    if sentences is not None:
        text = f"{text}, {sentences:.2f} sentences/s" if text else f"{sentences:.2f} sentences/s"
    return text


def eta_seconds(row: dict[str, Any], now: dt.datetime) -> float | None:
    """Seconds left in the current phase at its measured rate (running jobs with a known total only)."""
    if row.get("status") not in ("running", "cancel_requested"):
        return None
    phase = row.get("phase") or {}
    rate, total = phase_rate(row, now), phase.get("total")
    if rate is None or not total:
        return None
    return max(total - (phase.get("done") or 0), 0) / rate


def eta_text(row: dict[str, Any], now: dt.datetime) -> str:
    seconds = eta_seconds(row, now)
    return "" if seconds is None else format_duration(seconds)


def _count(done: int, total: int | None, unit: str | None) -> str:
    unit = f" {unit}" if unit else ""
    if total:
        return f"{done:,}/{total:,}{unit} ({100 * done / total:.0f}%)"
    return f"{done:,}{unit}"


def phase_text(row: dict[str, Any], now: dt.datetime) -> str:
    """``generating: 37/320 samples (12%)``, ``loading teacher (12s)``, or the committed count when a row
    has no phase (jobs from before phases existed)."""
    phase = row.get("phase")
    if not phase:
        return _count(row.get("progress_done") or 0, row.get("progress_total") or 0, None)
    if phase.get("unit"):
        return f"{phase['name']}: {_count(phase.get('done') or 0, phase.get('total'), phase['unit'])}"
    if row.get("status") == "done":  # a phase without a count says nothing once the job is over
        started, finished = row.get("started_at"), row.get("finished_at")
        if started and finished:
            return f"finished in {format_duration((finished - started).total_seconds())}"
        return "finished"
    since = _since(phase)
    if since is None or row.get("status") not in ("running", "cancel_requested"):
        return phase["name"]
    return f"{phase['name']} ({format_duration((_end(row, now) - since).total_seconds())})"
