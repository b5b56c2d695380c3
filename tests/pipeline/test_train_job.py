"""The train job: run rows and loss log, clear errors, cancel between steps, resume after SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from db import jobs as job_rows
from db import runs
from pipeline import runner
from tests.pipeline.students import make_version, run_train_job, train_params

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ROOT = Path(__file__).resolve().parents[2]


def test_train_job_records_run_log_and_final_model(engine, tiny_seq2seq, tmp_path):
    version = make_version(engine)
    job_id, status = run_train_job(engine, train_params(tiny_seq2seq, output_dir=str(tmp_path / "run")))
    assert status == "done"
    run = runs.run_for_job(engine, job_id)
    assert run["status"] == "done" and run["recipe_hash"] == version["recipe_hash"]
    assert run["config"]["total_steps"] == 4 and Path(run["config"]["final_dir"]).is_dir()
    log = runs.run_log(engine, run["id"])
    assert [r["step"] for r in log] == [1, 2, 3, 4]
    assert [r["eval_loss"] is not None for r in log] == [False, True, False, True]
    assert job_rows.get(engine, job_id)["progress_done"] == 4
    assert runs.list_runs(engine)[0]["last_step"] == 4


def test_version_without_pairs_fails_clearly(engine, tiny_seq2seq):
    make_version(engine, "empty", items=[], task="summary")
    job_id, status = run_train_job(engine, train_params(tiny_seq2seq, version="empty"))
    assert status == "failed"
    assert "Version 'empty' has no pairs" in job_rows.get(engine, job_id)["error"]


def test_unknown_version_and_unloadable_student_fail_clearly(engine, tmp_path):
    make_version(engine)
    job_id, status = run_train_job(engine, train_params("nobody/no-such-student", version="nope"))
    assert status == "failed" and "No version named 'nope'" in job_rows.get(engine, job_id)["error"]
    job_id, status = run_train_job(engine, train_params("nobody/no-such-student"))
    error = job_rows.get(engine, job_id)["error"]
    assert status == "failed" and error.startswith("Cannot load student 'nobody/no-such-student'")
    assert "Traceback" not in error
    assert runs.run_for_job(engine, job_id)["status"] == "failed"


def test_two_databases_with_the_same_run_id_never_share_a_model(tiny_seq2seq, tmp_path):
    """The issue's reproduction: run 1 of studio.db, then run 1 of other.db with a student that does not exist."""
    from db import connect

    first, second = (
        connect(f"sqlite:///{tmp_path / 'studio.db'}"),
        connect(f"sqlite:///{tmp_path / 'other.db'}"),
    )
    make_version(first)
    make_version(second, "v2")
    job_a, status_a = run_train_job(first, train_params(tiny_seq2seq))
    assert status_a == "done"
    run_a = runs.run_for_job(first, job_a)
    assert Path(run_a["output_dir"]).parent == tmp_path / "runs"  # beside the database, not the cwd
    job_b, status_b = run_train_job(second, train_params("nobody/no-such-student", version="v2", max_steps=2))
    run_b = runs.run_for_job(second, job_b)
    assert run_a["id"] == run_b["id"] == 1 and run_a["output_dir"] != run_b["output_dir"]
    assert status_b == "failed"
    assert job_rows.get(second, job_b)["error"].startswith("Cannot load student 'nobody/no-such-student'")
    # the same folder given explicitly: refused, run 1 of studio.db is not taken as this run's result
    params = train_params(tiny_seq2seq, version="v2", output_dir=run_a["output_dir"])
    job_c, status_c = run_train_job(second, params)
    error = job_rows.get(second, job_c)["error"]
    assert status_c == "failed" and "holds the model of another run" in error and "Traceback" not in error
    assert runs.run_for_job(second, job_c)["status"] == "failed"


def test_cancel_stops_between_steps_and_requeue_continues(engine, tiny_seq2seq, tmp_path):
    make_version(engine)
    params = train_params(
        tiny_seq2seq, max_steps=400, checkpoint_every=1000, output_dir=str(tmp_path / "run")
    )
    job_id = job_rows.submit(engine, "train", params)
    worker = threading.Thread(target=runner.run_job, args=(engine, job_id))
    worker.start()
    while not (run := runs.run_for_job(engine, job_id)) or len(runs.run_log(engine, run["id"])) < 3:
        time.sleep(0.05)
    job_rows.request_cancel(engine, job_id)
    worker.join(60)
    assert job_rows.get(engine, job_id)["status"] == "cancelled"
    stopped_at = len(runs.run_log(engine, run["id"]))
    assert stopped_at < 400 and runs.get_run(engine, run["id"])["status"] == "cancelled"
    assert (tmp_path / "run" / f"checkpoint-{stopped_at}").is_dir()


def test_killed_training_subprocess_resumes_from_its_checkpoint(engine, db_url, tiny_seq2seq, tmp_path):
    make_version(engine)
    command = [sys.executable, "-m", "cli", "train", "--db", db_url, "--version", "v1", "--student",
               str(tiny_seq2seq), "--max-steps", "30", "--batch-size", "3", "--lr", "0.01",
               "--checkpoint-every", "5", "--device", "cpu", "--output-dir", str(tmp_path / "run")]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            run = runs.list_runs(engine)[0] if runs.list_runs(engine) else None
            if run and (run["last_step"] or 0) >= 8:
                break
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    job_id = run["job_id"]
    assert job_rows.get(engine, job_id)["status"] == "running"  # killed: nobody marked it
    assert runner.run_job(engine, job_id) == "done"  # its dead worker's job is claimable at once
    log = runs.run_log(engine, run["id"])
    assert [r["step"] for r in log] == list(range(1, 31))
    assert "resuming from checkpoint at step" in job_rows.get(engine, job_id)["log"]
    assert runs.get_run(engine, run["id"])["status"] == "done"
