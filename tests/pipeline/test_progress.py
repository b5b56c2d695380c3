"""Rate and ETA come from the current phase's real throughput, in words a user reads at a glance."""

from __future__ import annotations

import datetime as dt

from cli.jobs_cmds import format_job
from pipeline.progress import eta_text, new_phase, phase_text, rate_text
from ui.jobview import job_table

NOW = dt.datetime(2026, 1, 1, 12, 0, 0)


def job(status="running", phase=None, **extra) -> dict:
    return {"id": 3, "kind": "generate", "status": status, "progress_done": 4, "progress_total": 20,
            "started_at": NOW - dt.timedelta(minutes=10), "finished_at": None, "created_at": NOW,
            "error": None, "phase": phase, **extra}  # fmt: skip


def phase(name="generating", *, unit="samples", total=400, began=100, done=160, seconds_ago=60.0) -> dict:
    stored = new_phase(name, unit=unit, total=total, done=began, now=NOW - dt.timedelta(seconds=seconds_ago))
    return {**stored, "done": done}


def test_rate_and_eta_come_from_the_phase_not_from_the_job_start():
    row = job(phase=phase())  # 60 samples in the last 60 s; the job started 10 minutes ago (model load)
    assert phase_text(row, NOW) == "generating: 160/400 samples (40%)"
    assert rate_text(row, NOW) == "1.0 samples/s"
    assert eta_text(row, NOW) == "4m 00s"  # 240 samples left at 1/s


def test_slow_work_reads_per_minute_or_time_per_unit_and_a_finished_job_never_shows_zero():
    slow = job(phase=phase(unit="contexts", total=3, began=0, done=2, seconds_ago=90))
    assert rate_text(slow, NOW) == "1.3 contexts/min"
    slower = job(phase=phase(name="training", unit="steps", total=10, began=0, done=1, seconds_ago=130))
    assert rate_text(slower, NOW) == "2m 10s per step"
    finished = job(status="done", finished_at=NOW, phase=phase(unit="contexts", total=3, began=0, done=3,
                                                               seconds_ago=270))  # fmt: skip
    assert rate_text(finished, NOW) == "1m 30s per context" and eta_text(finished, NOW) == ""
    assert "0.0" not in rate_text(finished, NOW)


def test_a_phase_without_a_count_shows_how_long_it_has_run():
    loading = job(phase=phase("loading teacher", unit=None, total=None, began=0, done=0, seconds_ago=12))
    assert phase_text(loading, NOW) == "loading teacher (12s)"
    assert rate_text(loading, NOW) == "" and eta_text(loading, NOW) == ""


def test_the_studio_table_and_impossible_jobs_show_phase_rate_and_eta():
    row = job(phase=phase())
    [table_row] = job_table([row], NOW)
    assert table_row[2:6] == ["running", "generating: 160/400 samples (40%)", "1.0 samples/s", "4m 00s"]
    line = format_job(row, NOW)
    assert "generating: 160/400 samples (40%)  1.0 samples/s  ETA 4m 00s" in line
    assert "waiting for a worker" in format_job(job(status="queued"), NOW)
    assert job_table([job(status="queued")], NOW)[0][3] == "waiting for a worker"


def test_the_evaluate_page_lists_its_jobs_with_phase_and_progress(engine):
    from db import jobs as job_rows
    from ui.jobview import kind_progress

    assert kind_progress(engine, "evaluate") == "No evaluate jobs yet."
    job_id = job_rows.submit(engine, "evaluate", {"run": 1})
    job_rows.submit(engine, "generate", {})
    assert kind_progress(engine, "evaluate") == f"**Job {job_id}** · queued · waiting for a worker"
    job_rows.claim(engine, job_id, "test:1", 60)
    job_rows.set_phase(engine, job_id, phase("generating outputs", unit="rows", total=200, began=0, done=32,
                                             seconds_ago=0))  # fmt: skip
    assert kind_progress(engine, "evaluate").startswith(
        f"**Job {job_id}** · running · generating outputs: 32/200 rows (16%)"
    )


def test_a_finished_job_whose_last_phase_had_no_count_says_how_long_it_took():
    row = job(status="done", finished_at=NOW, phase=phase("grouping duplicates", unit=None, total=None,
                                                          began=0, done=0))  # fmt: skip
    assert phase_text(row, NOW) == "finished in 10m 00s" and rate_text(row, NOW) == ""
