"""The job worker as a separate process that the studio starts when there is work and restarts if it dies.

Jobs run in ``python -m cli worker --once --db URL``, never in the web server: a long job never blocks the
UI, a crash in a model cannot take the server down, and because the process exits once the queue is
empty, a GPU's memory is released when the work is done. A watcher thread in the server checks the jobs
table every ``check_every_s`` (one cheap query, no model, no torch) and starts a worker whenever a job
is claimable and none is running. Job state lives in the database: a worker that died mid-job leaves its
job "running" under a dead pid, which makes it claimable at once, so the next worker resumes it from the
last committed batch.

The URL is resolved once (a relative SQLite path becomes absolute) and handed to the worker in the
``IMPOSSIBLE_DB`` environment variable, so the worker opens the same file from the repository folder and
a password never shows in a process list. A worker that exits without claiming any job (it could not
open the database, or saw no work) is not replaced at once: the next start waits ``IDLE_BACKOFF_S``,
doubling up to ``MAX_BACKOFF_S``, and ``problem`` says why.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import Engine

from db import connect, display_url, resolve_url
from db import jobs as job_rows
from db.engine import DB_ENV
from pipeline.runner import STALE_AFTER_S

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
IDLE_BACKOFF_S = 5.0
MAX_BACKOFF_S = 120.0


class WorkerProcess:
    """Run ``impossible worker --once`` for one database whenever jobs wait, until ``stop()``."""

    def __init__(
        self,
        db_url: str,
        *,
        engine: Engine | None = None,
        poll_s: float = 1.0,
        check_every_s: float = 2.0,
        log_path: Path | None = None,
    ):
        self.db_url = resolve_url(db_url)
        self.engine = engine or connect(self.db_url, migrate_schema=False)
        self.poll_s = poll_s
        self.check_every_s = check_every_s
        self.log_path = log_path
        self.restarts = 0  # workers that died (non-zero exit) and were replaced
        self.started = 0
        self.idle_exits = 0  # workers that exited without claiming a job
        #: Why workers are not being started right now (None while all is well).
        self.problem: str | None = None
        self._not_before = 0.0  # monotonic time before which no new worker starts
        self._backoff_s = IDLE_BACKOFF_S
        self._process: subprocess.Popen | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None

    @property
    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "cli",
            "worker",
            "--once",
            "--poll",
            str(self.poll_s),
        ]

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> WorkerProcess:
        """Start the watcher (and a worker at once if jobs are waiting)."""
        self._stop.clear()
        self.ensure_running()
        self._watcher = threading.Thread(target=self._watch, name="worker-watcher", daemon=True)
        self._watcher.start()
        return self

    def _spawn(self) -> None:
        with self._lock:
            out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
            path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
            self._process = subprocess.Popen(
                self.command,
                cwd=REPO_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": path, DB_ENV: self.db_url},
                start_new_session=True,
            )
            if out is not subprocess.DEVNULL:
                out.close()
            self.started += 1
            log.info("job worker started (pid %s)", self._process.pid)

    def ensure_running(self) -> bool:
        """Start a worker when a job is claimable and none runs; return True when one was started.

        ``poll()`` also reaps a killed worker, so its pid reads as dead and its job becomes claimable.
        """
        if self._stop.is_set() or self.alive():
            return False
        if self._process is not None:
            self._reap(self._process)
            self._process = None
        if time.monotonic() < self._not_before or not job_rows.claimable_ids(self.engine, STALE_AFTER_S):
            return False
        self._spawn()
        return True

    def _reap(self, process: subprocess.Popen) -> None:
        """Account for a worker that exited; back off when it claimed nothing."""
        if process.returncode != 0:
            log.warning("job worker exited with code %s", process.returncode)
            self.restarts += 1
        if job_rows.claimed_by(self.engine, f"{job_rows.this_worker().rpartition(':')[0]}:{process.pid}"):
            self._backoff_s, self.problem = IDLE_BACKOFF_S, None
            return
        self.idle_exits += 1
        self._not_before = time.monotonic() + self._backoff_s
        self.problem = (
            f"the last job worker (pid {process.pid}, exit code {process.returncode}) exited without "
            f"claiming a job on {display_url(self.db_url)}; retrying in {self._backoff_s:.0f}s"
            + (f" (see {self.log_path})" if self.log_path else "")
        )
        log.warning("%s", self.problem)
        self._backoff_s = min(MAX_BACKOFF_S, self._backoff_s * 2)

    def _watch(self) -> None:
        while not self._stop.wait(self.check_every_s):
            try:
                self.ensure_running()
            except Exception:  # a locked database or a failed spawn: try again next round
                log.exception("could not check or start the job worker")

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop watching and end a running worker (SIGTERM, then SIGKILL after ``timeout_s``); its job
        stays resumable."""
        self._stop.set()
        with self._lock:
            process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
