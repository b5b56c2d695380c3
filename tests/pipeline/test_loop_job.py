"""The ``loop`` job: stages in order as child jobs, a resume that redoes no finished stage, and a clear
error when a stage has nothing to work on."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from sqlalchemy import func, select

from curation.versions import get_version
from db import connect
from db import jobs as job_rows
from db.schema import pairs, sentences
from pipeline import loop_job, runner
from tests.pipeline.scripted_teacher import build_scripted_teacher
from tests.test_kill_resume import REPO, cli, env

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# no embedder in these tests, so the embedding threshold is off; the rest of the default recipe applies
LOOSE = {"embed_cosine": None}


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    return str(build_scripted_teacher(tmp_path_factory.mktemp("scripted")))


def settings(tmp_path, teacher, student, **overrides) -> dict:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(f"Report {i} arrived on day {i}.\n" for i in range(4)))
    base = {
        "preset": "smoke", "corpus": str(corpus), "contexts": 4, "samples": 8, "teacher": teacher,
        "backend": "torch", "embedder": "", "student": str(student), "max_steps": 2, "batch_size": 2,
        "min": LOOSE, "eval_limit": 5,
    }  # fmt: skip
    return {**base, **overrides}


def run_loop(engine, params) -> tuple[int, str]:
    job_id = job_rows.submit(engine, "loop", params)
    return job_id, runner.run_job(engine, job_id)


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_stages_run_in_order_as_children_and_the_table_ends_with_the_check_lines(
    engine, tmp_path, teacher, tiny_teacher
):
    job_id, status = run_loop(engine, settings(tmp_path, teacher, tiny_teacher))
    assert status == "done", job_rows.get(engine, job_id)["error"]
    children = job_rows.children(engine, job_id)
    assert [c["kind"] for c in children] == ["generate", "score", "train", "evaluate"]
    assert all(c["status"] == "done" for c in children)
    row = job_rows.get(engine, job_id)
    assert row["progress_done"] == row["progress_total"] == 4  # the loop's progress counts its stages
    version = get_version(engine, f"loop{job_id}")
    assert version["pair_count"] > 0
    summary = loop_job.loop_summary(engine, job_id)
    systems = summary["evaluations"][0]["systems"]
    assert set(systems) == {"student", "untrained", "copy_input"}
    assert systems["student"]["rows"] == systems["copy_input"]["rows"] > 0  # the same held-out rows
    lines = loop_job.summary_lines(summary)
    assert lines[-3] == f"kept_pairs={version['pair_count']}"
    assert lines[-2] == f"student_ibleu={systems['student']['metrics']['ibleu']:.2f}"
    assert lines[-1] == f"copy_ibleu={systems['copy_input']['metrics']['ibleu']:.2f}"
    assert lines[-1] in job_rows.get(engine, job_id)["log"]


def test_a_self_distillation_round_trains_a_second_student_measured_on_the_same_rows(
    engine, tmp_path, teacher, tiny_teacher
):
    bench = tmp_path / "bench.jsonl"
    bench.write_text(
        "".join(f'{{"src": "Report {i} came.", "trg": "Report {i} arrived."}}\n' for i in range(3))
    )
    params = settings(tmp_path, teacher, tiny_teacher, distill_contexts=3,
                      benchmarks=[{"path": str(bench), "format": "jsonl", "limit": None}])  # fmt: skip
    job_id, status = run_loop(engine, params)
    assert status == "done", job_rows.get(engine, job_id)["error"]
    kinds = [c["kind"] for c in job_rows.children(engine, job_id)]
    assert kinds == ["generate", "score", "train", "evaluate", "distill", "score", "train", "evaluate"]
    summary = loop_job.loop_summary(engine, job_id)
    assert [e["version"] for e in summary["evaluations"]] == [f"loop{job_id}", f"loop{job_id}-r1"]
    rows = [e["systems"]["student"]["rows"] for e in summary["evaluations"]]
    assert rows == [3, 3]
    with engine.connect() as conn:
        rounds = set(conn.execute(select(pairs.c.round)).scalars())
    assert rounds == {0, 1}

    without = settings(tmp_path, teacher, tiny_teacher, distill_contexts=3)
    job_id, status = run_loop(engine, without)
    assert status == "failed" and "needs a benchmark" in job_rows.get(engine, job_id)["error"]


def test_a_failed_loop_resumes_without_redoing_finished_stages(engine, tmp_path, teacher, tiny_teacher):
    params = settings(tmp_path, teacher, tmp_path / "no-such-student")
    job_id, status = run_loop(engine, params)
    assert status == "failed" and "train stage" in job_rows.get(engine, job_id)["error"]
    made = count(engine, sentences), count(engine, pairs)
    kinds = [c["kind"] for c in job_rows.children(engine, job_id)]
    assert kinds == ["generate", "score", "train"]

    # the user fixes nothing and resumes: finished stages are skipped, the failed one is tried again
    job_rows.requeue(engine, job_id)
    assert runner.run_job(engine, job_id) == "failed"
    assert [c["kind"] for c in job_rows.children(engine, job_id)] == kinds
    assert (count(engine, sentences), count(engine, pairs)) == made
    assert "generate: job" in job_rows.get(engine, job_id)["log"]


def test_no_survivor_names_the_critic_that_removed_them_and_what_to_loosen(
    engine, tmp_path, teacher, tiny_teacher
):
    job_id, status = run_loop(engine, settings(tmp_path, teacher, tiny_teacher, max={"rouge_l": 0.01}))
    row = job_rows.get(engine, job_id)
    assert status == "failed"
    assert "No pair of" in row["error"] and "max rouge_l 0.01 alone removes" in row["error"]
    assert "--max rouge_l=" in row["error"]
    assert [c["kind"] for c in job_rows.children(engine, job_id)] == ["generate", "score"]  # no train


def test_cancelling_the_loop_cancels_its_running_stage(engine, tmp_path, teacher, tiny_teacher):
    job_id = job_rows.submit(engine, "loop", settings(tmp_path, teacher, tiny_teacher))
    child = job_rows.submit(engine, "generate", {"contexts": 1}, parent=job_id)
    assert job_rows.claim(engine, job_id, "w:1", 60) and job_rows.claim(engine, child, "w:1", 60)
    assert job_rows.request_cancel(engine, job_id) == "cancel_requested"
    assert job_rows.get(engine, child)["status"] == "cancel_requested"


def test_unknown_preset_or_setting_is_refused():
    with pytest.raises(runner.UserError, match="Unknown loop preset 'huge'"):
        loop_job.loop_params("huge", {})
    with pytest.raises(runner.UserError, match="Unknown loop setting"):
        loop_job.loop_params("smoke", {"contxts": 3})
    assert loop_job.loop_params("cpu-hour", {"max_steps": 5})["epochs"] is None


def test_a_sigkilled_loop_command_resumes_where_it_stopped(tmp_path, teacher, tiny_teacher):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(f"Report {i} arrived on day {i}.\n" for i in range(4)))
    url = f"sqlite:///{tmp_path / 'loop.db'}"
    args = ["loop", "--db", url, "--corpus", str(corpus), "--contexts", "4", "--samples", "8"]
    args += ["--teacher", teacher, "--backend", "torch", "--embedder", "none", "--student", str(tiny_teacher)]
    args += ["--max-steps", "2", "--min", "embed=off", "--eval-limit", "5"]
    engine = connect(url)
    proc = subprocess.Popen(cli(*args), cwd=REPO, env=env(tmp_path / "cache"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while not any(c["kind"] == "score" for c in job_rows.children(engine, 1)):
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.monotonic() < deadline, "the loop reached no score stage within 240 s"
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    made = count(engine, sentences)
    assert job_rows.get(engine, 1)["status"] == "running"  # killed: nobody finished it

    done = subprocess.run(cli(*args), cwd=REPO, env=env(tmp_path / "cache"), capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "resuming loop job 1" in done.stdout
    lines = done.stdout.strip().splitlines()
    assert lines[-3].startswith("kept_pairs=") and lines[-1].startswith("copy_ibleu=")
    kinds = [c["kind"] for c in job_rows.children(engine, 1)]
    assert kinds == ["generate", "score", "train", "evaluate"]  # no stage queued twice
    assert count(engine, sentences) == made  # the generate stage had finished: nothing generated again


def test_loop_without_a_benchmark_is_documented_in_the_command_help():
    out = subprocess.run(cli("loop", "--help"), cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "--preset" in out and "held-out pairs" in out


def test_a_failed_loop_command_exits_1_with_its_first_error_line(tmp_path, teacher, capsys):
    from cli import main

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("Report 1 arrived on day 1.\n")
    url = f"sqlite:///{tmp_path / 'failed.db'}"
    args = ["loop", "--db", url, "--corpus", str(corpus), "--contexts", "1", "--samples", "4", "--teacher", teacher,
            "--backend", "torch", "--embedder", "none", "--max", "rouge_l=0.01"]  # fmt: skip
    assert main(args) == 1  # a job that ran and failed, as every job command
    out = capsys.readouterr().out
    assert "loop job 1: failed" in out and "error: " in out and "kept_pairs=0" in out
