"""A self-distillation round: the student's proposals enter the pool as round-1 pairs with provenance."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select

from db import jobs as job_rows
from db.schema import contexts, pairs, sentences
from pipeline import runner
from pipeline.distill_job import proposals
from tests.pipeline.students import PAIRS, trained_run

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TEACHER_SENTENCES = [
    "The council approved the new budget on Monday.",
    "Officials said the bridge will reopen soon.",
]


def add_teacher_sentences(engine) -> None:
    with engine.begin() as conn:
        for seq, text in enumerate(TEACHER_SENTENCES):
            context_id = conn.execute(
                insert(contexts).values(seq=seq, text="(AP) --", origin="teacher", round=0)
            ).inserted_primary_key[0]
            for index, sentence in enumerate([PAIRS[0][0], text]):  # the 1st is already a version source
                conn.execute(insert(sentences).values(context_id=context_id, sample_index=index, text=sentence,
                                                      model="tiny", sampling={}, round=0))  # fmt: skip


def distill(engine, params) -> tuple[str, int]:
    job_id = job_rows.submit(engine, "distill", params)
    return runner.run_job(engine, job_id), job_id


def student_pairs(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(pairs).where(pairs.c.origin == "student")).mappings()]


def test_round_one_pairs_from_teacher_sentences_with_provenance(engine, tiny_teacher, tmp_path):
    run = trained_run(engine, tiny_teacher, tmp_path)
    add_teacher_sentences(engine)
    status, job_id = distill(engine, {"run": run["id"], "contexts": 5, "samples": 4, "max_new_tokens": 6,
                                      "device": "cpu"})  # fmt: skip
    assert status == "done", job_rows.get(engine, job_id)["error"]
    new = student_pairs(engine)
    assert new and {p["round"] for p in new} == {1}
    assert {p["source"] for p in new} <= set(TEACHER_SENTENCES)  # fresh sources only
    first = new[0]
    assert first["source_sentence_id"] is not None and first["context_id"] is not None
    provenance = first["provenance"]
    assert provenance["student_run"] == run["id"] and provenance["version"] == "v1"
    assert provenance["sampling"] == {"top_p": 0.9, "temperature": 0.7, "no_repeat_ngram_size": 3,
                                      "max_new_tokens": 6}  # fmt: skip
    assert all(p["target"] != p["source"] for p in new)
    assert {p["provenance"]["backend"] for p in new} == {"ctranslate2"}  # auto, causal student, CPU
    assert "student decoding: ctranslate2" in job_rows.get(engine, job_id)["log"]
    queued = [j for j in job_rows.recent(engine) if j["kind"] == "score"]
    assert len(queued) == 1 and queued[0]["status"] == "queued"


def test_corpus_sources_and_clear_error_without_sources(engine, tiny_seq2seq, tmp_path):
    run = trained_run(engine, tiny_seq2seq, tmp_path)
    status, job_id = distill(engine, {"run": run["id"], "contexts": 2, "device": "cpu"})
    assert status == "failed" and "No fresh source sentences" in job_rows.get(engine, job_id)["error"]
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("Stocks fell sharply. Bonds rallied.\nThe storm moved north.\n")
    status, job_id = distill(engine, {"run": run["id"], "corpus": str(corpus), "contexts": 2, "samples": 3,
                                      "max_new_tokens": 5, "score": False, "device": "cpu"})  # fmt: skip
    assert status == "done", job_rows.get(engine, job_id)["error"]
    assert {p["source"] for p in student_pairs(engine)} <= {"Stocks fell sharply.", "Bonds rallied."}
    assert not [j for j in job_rows.recent(engine) if j["kind"] == "score"]
    assert (
        "using torch because CTranslate2 student decoding supports causal students only"
        in (job_rows.get(engine, job_id)["log"])
    )
    assert {p["provenance"]["backend"] for p in student_pairs(engine)} == {"torch"}
    status, job_id = distill(engine, {"run": run["id"], "corpus": str(corpus), "contexts": 2, "samples": 2,
                                      "score": False, "device": "cpu", "backend": "ctranslate2"})  # fmt: skip
    error = job_rows.get(engine, job_id)["error"]
    assert status == "failed" and "causal students only" in error and "\n" not in error


@pytest.mark.parametrize(
    ("outputs", "kept"),
    [(["b", "b", "", "a", "c"], [(0, "b"), (4, "c")]), (["a"], [])],
)
def test_proposals_drop_copies_repeats_and_empties(outputs, kept):
    assert proposals("a", outputs) == kept
