"""Every job kind says what it is doing (its phase) and moves a count the user can read a rate from."""

from __future__ import annotations

import numpy as np
import pytest

from db import jobs as job_rows
from pipeline import runner
from tests.pipeline.scripted_teacher import build_scripted_teacher
from tests.pipeline.students import make_version, train_params, trained_run

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def phases(monkeypatch):
    """Every phase write a job makes, in order (and the throttle off, so each move is written)."""
    written: list[dict] = []
    real = job_rows.set_phase

    def record(engine, job_id, phase):
        written.append(dict(phase))
        real(engine, job_id, phase)

    monkeypatch.setattr(job_rows, "set_phase", record)
    monkeypatch.setattr(runner, "PHASE_WRITE_EVERY_S", 0.0)
    return written


def names(written: list[dict]) -> list[str]:
    """Phase names in the order they began (consecutive writes of one phase collapse), after the
    runner's ``starting`` that every job shows until its handler names a phase."""
    assert written[0]["name"] == "starting"
    out: list[str] = []
    for phase in written[1:]:
        if not out or out[-1] != phase["name"]:
            out.append(phase["name"])
    return out


def counts(written: list[dict], name: str) -> list[tuple[int, int | None]]:
    return [(p["done"], p["total"]) for p in written if p["name"] == name]


def run_job(engine, kind: str, params: dict) -> dict:
    job_id = job_rows.submit(engine, kind, params)
    status = runner.run_job(engine, job_id)
    row = job_rows.get(engine, job_id)
    assert status == "done", row["error"]
    return row


def test_generate_reports_loading_then_samples_moving_within_a_batch(engine, phases, tmp_path):
    teacher = str(build_scripted_teacher(tmp_path / "scripted"))
    corpus = tmp_path / "corpus.txt"
    # a context ending in " is" finishes its sentence in 2 tokens, one ending in "." in 5: rows of one
    # batch finish at different steps, as real first sentences of different lengths do
    corpus.write_text(
        "".join(f"Report {i} arrived on day {i}.\nReport {i} said the sea is\n" for i in range(2))
    )
    row = run_job(engine, "generate", {"teacher": teacher, "corpus": str(corpus), "samples": 6,
                                       "batch_contexts": 2, "device": "cpu"})  # fmt: skip
    assert names(phases) == ["reading the corpus", "loading teacher", "generating"]
    moves = counts(phases, "generating")
    assert {total for _, total in moves} == {4 * 6}  # the total never changes
    done = [d for d, _ in moves]
    assert done == sorted(done) and done[0] == 0 and done[-1] == 24
    assert set(done) - {0, 12, 24}, "the count moves inside a batch, not only when it commits"
    assert row["phase"]["name"] == "generating" and row["phase"]["done"] == 24


def test_generate_from_the_teacher_counts_sampled_contexts(engine, phases, tmp_path):
    teacher = str(build_scripted_teacher(tmp_path / "scripted"))
    run_job(engine, "generate", {"teacher": teacher, "contexts": 3, "samples": 3, "device": "cpu"})
    assert names(phases)[:3] == ["loading teacher", "sampling contexts", "generating"]
    assert {total for _, total in counts(phases, "sampling contexts")} == {3}
    assert counts(phases, "sampling contexts")[-1][0] == 3


def test_score_reports_each_stage_of_m_with_a_fixed_total(engine, phases, monkeypatch):
    from db.queries import insert_pairs
    from db.types import Pair

    class Embedder:
        name = "fake"

        def encode(self, texts, batch_size=128):
            return np.ones((len(texts), 4), dtype=np.float32)

    monkeypatch.setattr("models.critics.load_embedder", lambda spec, device=None: Embedder())
    monkeypatch.setattr("models.availability.check_model", lambda role, spec: None)
    with engine.begin() as conn:
        insert_pairs(conn, [Pair(f"Storms hit town {i} on Monday.", f"On Monday storms hit town {i}.")
                            for i in range(5)])  # fmt: skip
    run_job(
        engine, "score", {"embedder": "fake", "nli": None, "batch_size": 2, "device": "cpu", "parser": None}
    )
    assert names(phases) == [
        "stage 1 of 3: cheap critics",
        "stage 2 of 3: loading embedder",
        "stage 2 of 3: embedding cosine",
        "stage 3 of 3: grouping duplicates",
    ]
    for stage in ("stage 1 of 3: cheap critics", "stage 2 of 3: embedding cosine"):
        moves = counts(phases, stage)
        assert {total for _, total in moves} == {5} and moves[-1][0] == 5
        assert [d for d, _ in moves] == sorted(d for d, _ in moves)


def test_train_reports_loading_steps_and_saving(engine, phases, tiny_seq2seq, tmp_path):
    make_version(engine)
    run_job(engine, "train", train_params(tiny_seq2seq, output_dir=str(tmp_path / "run")))
    assert names(phases) == ["loading student", "training", "saving the final model"]
    moves = counts(phases, "training")
    assert moves[-1] == (4, 4) and {total for _, total in moves[1:]} == {4}
    assert [d for d, _ in moves] == [0, 1, 2, 3, 4]


def test_evaluate_and_distill_report_rows_and_sources(engine, phases, tiny_seq2seq, tmp_path):
    run = trained_run(engine, tiny_seq2seq, tmp_path)
    bench = tmp_path / "bench.jsonl"
    bench.write_text("".join(f'{{"src": "The cat sat {i}.", "trg": "A cat sat {i}."}}\n' for i in range(5)))
    phases.clear()
    run_job(engine, "evaluate", {"run": run["id"], "benchmark": str(bench), "embedder": "", "batch_size": 2,
                                 "samples": 2, "max_new_tokens": 4})  # fmt: skip
    assert names(phases) == ["loading student", "generating outputs", "sampling for self-BLEU",
                             "scoring metrics"]  # fmt: skip
    assert counts(phases, "generating outputs") == [(0, 5), (2, 5), (4, 5), (5, 5)]
    assert counts(phases, "sampling for self-BLEU")[-1] == (5, 5)

    corpus = tmp_path / "sources.txt"
    corpus.write_text("Officials said the bridge will reopen soon.\nThe council approved the budget.\n")
    phases.clear()
    run_job(engine, "distill", {"run": run["id"], "corpus": str(corpus), "samples": 2, "batch_size": 1,
                                "max_new_tokens": 4, "score": False, "device": "cpu"})  # fmt: skip
    assert names(phases) == ["loading student", "proposing targets"]
    assert counts(phases, "proposing targets") == [(0, 2), (1, 2), (2, 2)]
