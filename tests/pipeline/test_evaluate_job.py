"""The evaluate job on the first rows of every shared benchmark format, the CLI table, and clear errors."""

from __future__ import annotations

import pytest

from cli import main
from db import jobs as job_rows
from db import runs
from pipeline import runner
from tests.pipeline.students import make_version, trained_run

pytestmark = pytest.mark.usefixtures("one_torch_thread")

BENCHMARKS = {
    "mrpc": "mrpc/msr_paraphrase_test.txt",
    "jsonl": "qqp/valid.jsonl",
    "lines": "google_compression",
}


@pytest.fixture(scope="module")
def shared(tiny_seq2seq, tmp_path_factory):
    """One database with one finished tiny run, shared by this module's tests (training is the slow part)."""
    from db import connect

    folder = tmp_path_factory.mktemp("evaluate")
    url = f"sqlite:///{folder / 'studio.db'}"
    engine = connect(url)
    yield url, engine, trained_run(engine, tiny_seq2seq, folder)
    engine.dispose()


@pytest.fixture
def engine(shared):
    return shared[1]


@pytest.fixture
def db_url(shared):
    return shared[0]


@pytest.fixture
def run(shared):
    return shared[2]


def evaluate(engine, run_id, path, **params) -> tuple[str, int]:
    base = {"run": run_id, "benchmark": str(path), "limit": 4, "embedder": "", "max_new_tokens": 8}
    job_id = job_rows.submit(engine, "evaluate", {**base, **params})
    return runner.run_job(engine, job_id), job_id


@pytest.mark.parametrize("fmt", sorted(BENCHMARKS))
def test_student_and_copy_input_scored_on_the_same_rows(engine, run, benchmarks_dir, fmt):
    status, job_id = evaluate(engine, run["id"], benchmarks_dir / BENCHMARKS[fmt], format=fmt)
    assert status == "done", job_rows.get(engine, job_id)["error"]
    rows = {
        r["system"]: runs.get_evaluation(engine, r["id"]) for r in runs.evaluations_for_job(engine, job_id)
    }
    assert set(rows) == {"student", "copy_input"}
    student, copy = rows["student"], rows["copy_input"]
    assert student["rows"] == copy["rows"] == 4
    assert [e["source"] for e in student["examples"]] == [e["source"] for e in copy["examples"]]
    assert all(e["output"] == e["source"] for e in copy["examples"])
    metrics = copy["metrics"]
    assert metrics["bleu_to_source"] == pytest.approx(100.0)
    assert metrics["ibleu"] == pytest.approx(0.7 * metrics["bleu"] - 0.3 * 100.0)
    assert student["metrics"]["format"] == fmt and "rougeL" in student["metrics"]


def test_cli_prints_student_and_copy_input_table(db_url, engine, run, benchmarks_dir, capsys):
    path = benchmarks_dir / BENCHMARKS["mrpc"]
    code = main(["evaluate", "--db", db_url, "--run", str(run["id"]), "--benchmark", str(path),
                 "--limit", "3", "--embedder", "", "--max-new-tokens", "6", "--alpha", "0.8"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("job ")  # every job command prints its job id first
    lines = lines[1:]
    assert lines[0].startswith(f"run {run['id']} on mrpc/msr_paraphrase_test.txt (alpha 0.8)")
    assert lines[2].startswith("student") and lines[3].startswith("copy_input")
    assert main(["runs", "--db", db_url]) == 0
    assert f"{run['id']:>4}  done" in capsys.readouterr().out


def test_wrong_format_names_the_line(engine, run, benchmarks_dir):
    status, job_id = evaluate(engine, run["id"], benchmarks_dir / BENCHMARKS["mrpc"], format="jsonl")
    error = job_rows.get(engine, job_id)["error"]
    assert status == "failed" and "msr_paraphrase_test.txt, line 1: not valid JSON" in error
    assert not runs.evaluations_for_job(engine, job_id)


def test_unknown_or_unfinished_run_fails_clearly(engine, benchmarks_dir, tmp_path):
    status, job_id = evaluate(engine, 99, benchmarks_dir / BENCHMARKS["mrpc"])
    assert status == "failed" and job_rows.get(engine, job_id)["error"].startswith(
        "No training run with id 99"
    )
    version = make_version(engine, "unfinished")
    run_id = runs.create_run(engine, job_id=None, version_id=version["id"], recipe_hash="x", student="s",
                             config={}, output_dir=str(tmp_path))  # fmt: skip
    status, job_id = evaluate(engine, run_id, benchmarks_dir / BENCHMARKS["mrpc"])
    assert f"Run {run_id} has no finished model (status queued)" in job_rows.get(engine, job_id)["error"]


@pytest.mark.real_models
def test_embedding_metrics_with_the_embedded_encoder(engine, run, benchmarks_dir):
    status, job_id = evaluate(engine, run["id"], benchmarks_dir / BENCHMARKS["mrpc"], embedder="embedded")
    assert status == "done", job_rows.get(engine, job_id)["error"]
    copy = next(r for r in runs.evaluations_for_job(engine, job_id) if r["system"] == "copy_input")
    assert copy["metrics"]["bertscore_f1"] > 70 and copy["metrics"]["bert_ibleu"] == pytest.approx(0.0)
