"""A real `impossible generate` subprocess killed with SIGKILL mid-job, then resumed with `impossible resume`:
no duplicate sentence or pair, and exactly the rows of an uninterrupted run with the same seed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db import connect
from db import jobs as job_rows
from db.schema import contexts, pairs, sentences
from pipeline import runner
from tests.pipeline.scripted_teacher import build_scripted_teacher
from tests.pipeline.test_generate_job import snapshot

REPO = Path(__file__).resolve().parents[1]
CONTEXTS = 24


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "cli", *args]


def env(cache: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(REPO),
        "IMPOSSIBLE_CACHE": str(cache),  # converted models go to the test's folder
    }


def generated(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(contexts).where(contexts.c.generated_at.is_not(None))
        ).scalar_one()


@pytest.mark.parametrize("backend", ["torch", "ctranslate2"])
def test_sigkilled_generate_resumes_without_duplicates_or_loss(tmp_path, backend):
    teacher = str(build_scripted_teacher(tmp_path / "teacher"))
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(f"Report {i} arrived on day {i}.\n" for i in range(CONTEXTS)))
    args = ["--teacher", teacher, "--corpus", str(corpus), "--samples", "6", "--batch-contexts", "1"]
    args += ["--device", "cpu", "--seed", "3", "--backend", backend]
    url = f"sqlite:///{tmp_path / 'killed.db'}"
    engine = connect(url)

    proc = subprocess.Popen(
        cli("generate", "--db", url, *args),
        cwd=REPO,
        env=env(tmp_path / "cache"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 240
        while generated(engine) < 2:
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.monotonic() < deadline, "the job committed no batch within 240 s"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    first_line = proc.stdout.readline().decode()
    job_id = int(first_line.split()[1])
    done_at_kill = generated(engine)
    if done_at_kill == CONTEXTS:
        pytest.fail("the job finished before it could be killed; raise CONTEXTS")
    assert job_rows.get(engine, job_id)["status"] == "running"  # what a dead worker leaves behind

    resumed = subprocess.run(
        cli("resume", "--db", url, str(job_id)),
        cwd=REPO,
        env=env(tmp_path / "cache"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert job_rows.get(engine, job_id)["status"] == "done"
    assert generated(engine) == CONTEXTS

    with engine.connect() as conn:
        keys = conn.execute(select(sentences.c.context_id, sentences.c.sample_index)).all()
        pair_keys = conn.execute(select(pairs.c.pair_key)).scalars().all()
    assert len(keys) == len(set(keys)) and len(pair_keys) == len(set(pair_keys))

    clean = connect(f"sqlite:///{tmp_path / 'clean.db'}")
    params = {
        "teacher": teacher,
        "corpus": str(corpus),
        "samples": 6,
        "batch_contexts": 1,
        "device": "cpu",
        "seed": 3,
        "contexts": None,
        "backend": backend,
    }
    clean_id = job_rows.submit(clean, "generate", params)
    assert runner.run_job(clean, clean_id) == "done"
    assert snapshot(engine) == snapshot(clean)
