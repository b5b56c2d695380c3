"""The job worker as a separate process that the studio starts, watches and restarts.

Jobs run in ``python -m cli worker --db URL`` rather than in the web server, so a long job never blocks
the UI, a crash in a model cannot take the server down, and GPU memory is released when the process that
held it exits. Job state lives in the database: a restarted worker claims the job its predecessor left
(the dead pid makes it claimable at once) and resumes from the last committed batch.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]


class WorkerProcess:
    """Start ``impossible worker`` for one database and keep it alive until ``stop()``."""

    def __init__(
        self, db_url: str, *, poll_s: float = 1.0, check_every_s: float = 2.0, log_path: Path | None = None
    ):
        self.db_url = db_url
        self.poll_s = poll_s
        self.check_every_s = check_every_s
        self.log_path = log_path
        self.restarts = 0
        self._process: subprocess.Popen | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None

    @property
    def command(self) -> list[str]:
        return [sys.executable, "-m", "cli", "worker", "--db", self.db_url, "--poll", str(self.poll_s)]

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> WorkerProcess:
        """Spawn the worker and a watcher thread that restarts it whenever it exits."""
        self._stop.clear()
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="worker-watcher", daemon=True)
        self._watcher.start()
        return self

    def _spawn(self) -> None:
        with self._lock:
            out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
            env = {
                **os.environ,
                "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
            }
            self._process = subprocess.Popen(
                self.command,
                cwd=REPO_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
            if out is not subprocess.DEVNULL:
                out.close()
            log.info("job worker started (pid %s)", self._process.pid)

    def ensure_alive(self) -> bool:
        """Restart the worker if it has exited; return True when it had to be restarted."""
        if self._stop.is_set() or self.alive():
            return False
        code = self._process.returncode if self._process else None
        log.warning("job worker exited (code %s); restarting it", code)
        self.restarts += 1
        self._spawn()
        return True

    def _watch(self) -> None:
        while not self._stop.wait(self.check_every_s):
            try:
                self.ensure_alive()
            except OSError:
                log.exception("could not restart the job worker")

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop watching and end the worker (SIGTERM, then SIGKILL after ``timeout_s``)."""
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
