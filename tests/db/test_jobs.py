"""Job rows: parameters are strict JSON on every backend."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from db import jobs as job_rows


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "a\x00b", {"deep": [float("-inf")]}])
def test_submit_refuses_parameters_that_are_not_strict_json(any_engine, bad):
    with pytest.raises(ValueError, match="Cannot queue the generate job: its parameters are not strict JSON"):
        job_rows.submit(any_engine, "generate", {"temperature": bad})
    assert job_rows.recent(any_engine) == []


def test_submitted_parameters_read_back_unchanged(any_engine):
    params = {"temperature": 0.5, "teacher": "embedded", "corpus": None, "seed": 2_000_000_000}
    assert job_rows.get(any_engine, job_rows.submit(any_engine, "generate", params))["params"] == params


def test_cancelling_a_job_whose_worker_died_stops_it_at_once_and_frees_its_waiters(engine):
    """A distill job killed mid-run, then cancelled, must not leave the score job queued after it waiting
    forever for a worker that no longer exists."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()  # fmt: skip
    distill = job_rows.submit(engine, "distill", {"run": 1})
    score = job_rows.submit(engine, "score", {})
    assert job_rows.claim(engine, distill, f"{socket.gethostname()}:{dead}", 60)
    assert [b["id"] for b in job_rows.waiting_for(engine, score)] == [distill]
    assert job_rows.request_cancel(engine, distill) == "cancelled"
    assert job_rows.waiting_for(engine, score) == []
