"""The generate job: parameter validation, what it stores, and resuming after a crash without duplicates."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from db import jobs as job_rows
from db.schema import contexts, jobs, pairs, sentences
from pipeline import generate as generate_module
from pipeline import runner
from pipeline.generate_job import DEFAULTS, validate_params
from pipeline.generate_params import validate_submission
from pipeline.runner import UserError
from tests.pipeline.scripted_teacher import SENTENCES, build_scripted_teacher

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def scripted_dir(tmp_path_factory):
    return str(build_scripted_teacher(tmp_path_factory.mktemp("scripted")))


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("".join(f"Report {i} arrived on day {i}.\n" for i in range(5)))
    return str(path)


def params(teacher: str, corpus: str | None, **overrides) -> dict:
    return {
        "teacher": teacher,
        "corpus": corpus,
        "samples": 6,
        "batch_contexts": 2,
        "device": "cpu",
        **overrides,
    }


def snapshot(engine) -> dict:
    """Every generated row, keyed so that two databases can be compared."""
    with engine.connect() as conn:
        seq = {r.id: r.seq for r in conn.execute(select(contexts.c.id, contexts.c.seq))}
        return {
            "contexts": sorted(conn.execute(select(contexts.c.seq, contexts.c.text)).all()),
            "sentences": sorted(
                (seq[r.context_id], r.sample_index, r.text)
                for r in conn.execute(
                    select(sentences.c.context_id, sentences.c.sample_index, sentences.c.text)
                )
            ),
            "pairs": sorted(
                (seq[r.context_id], r.source, r.target)
                for r in conn.execute(select(pairs.c.context_id, pairs.c.source, pairs.c.target))
            ),
        }


def run_new_job(engine, job_params: dict) -> tuple[int, str]:
    job_id = job_rows.submit(engine, "generate", job_params)
    return job_id, runner.run_job(engine, job_id)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"samples": 1}, "samples must be a whole number from 2 to 1,000, got 1"),
        ({"samples": -3}, "samples must be a whole number from 2 to 1,000"),
        ({"samples": 100_000}, "samples must be a whole number from 2 to 1,000, got 100000"),
        ({"samples": True}, "samples must be a whole number"),
        ({"contexts": 0}, "contexts must be a whole number from 1 to 10,000,000"),
        ({"contexts": 10**12}, "contexts must be a whole number from 1 to 10,000,000"),
        ({"max_new_tokens": 0}, "max_new_tokens must be a whole number from 1 to 2,048"),
        ({"max_new_tokens": 100_000_000}, "max_new_tokens must be a whole number from 1 to 2,048"),
        ({"batch_contexts": 0}, "batch_contexts must be a whole number from 1"),
        ({"top_k": 10**9}, "top_k must be a whole number from 0 to 100,000"),
        ({"seed": -1}, "seed must be a whole number from 0 to 2,000,000,000"),
        ({"seed": 2**40}, "seed must be a whole number from 0 to 2,000,000,000"),
        ({"round": 10**6}, "round must be a whole number from 0 to 1,000"),
        ({"temperature": 0}, "temperature must be a number from 0.01 to 5, got 0"),
        ({"temperature": float("nan")}, "temperature must be a number from 0.01 to 5, got nan"),
        ({"temperature": float("inf")}, "temperature must be a number from 0.01 to 5, got inf"),
        ({"temperature": "0.5"}, "temperature must be a number"),
        ({"context_temperature": -1.0}, "context_temperature must be a number from 0.01 to 5"),
        ({"top_p": 0}, "top_p must be a number from 0.01 to 1"),
        ({"top_p": 1.5}, "top_p must be a number from 0.01 to 1"),
        ({"top_p": float("nan")}, "top_p must be a number from 0.01 to 1"),
        ({"task": "translate"}, "Unknown task 'translate'"),
        ({"teacher": ""}, "teacher must be a Hugging Face id"),
        ({"teacher": "a\nb"}, "teacher 'a\\nb' holds a control character"),
        ({"device": "gpu0"}, "device must be auto, cpu, mps, cuda or cuda:N"),
        ({"corpus": "/nowhere/corpus.txt"}, "does not exist"),
        ({"corpus": "x\x00.txt"}, "corpus 'x\\x00.txt' holds a control character"),
        ({"temprature": 0.7}, "Unknown generate parameter"),
    ],
)
def test_bad_parameters_are_clear_errors(bad, message):
    with pytest.raises(UserError) as caught:
        validate_params(bad)
    assert message in str(caught.value)


def test_valid_parameters_are_always_strict_json():
    stored = validate_params(
        {"temperature": 5.0, "samples": 1000, "max_new_tokens": 2048, "seed": 2_000_000_000}
    )
    assert json.loads(json.dumps(stored, allow_nan=False)) == stored


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"\n  \n", "holds no text"),
        ("bad.jsonl", b'{"text": "fine."}\n{oops\n', "bad.jsonl, line 2: invalid JSON"),
        ("deep.jsonl", b"[" * 100_000 + b"\n", "deep.jsonl, line 1: nested deeper than 64 levels"),
        ("nul.jsonl", b'{"text": "a\\u0000b"}\n', "line 1: text in text contains a NUL character"),
        ("field.jsonl", b'{"body": "x"}\n', 'expected an object with a "text"'),
        ("image.txt", b"GIF89a\x01\x00\x01\x00\x00\xff\x00", "looks binary (a NUL byte on line 1)"),
        ("latin1.txt", "caf\u00e9 au lait.".encode("latin-1"), "is not UTF-8 text"),
    ],
)
def test_a_bad_corpus_is_refused_at_submission(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    validate_params({"corpus": str(path)})  # cheap check: the file exists
    with pytest.raises(UserError) as caught:
        validate_submission({"corpus": str(path)}, corpus_name=name)
    assert message in str(caught.value) and str(tmp_path) not in str(caught.value)


def test_defaults_fill_in():
    assert validate_params({}) == DEFAULTS
    assert validate_params({"temperature": 0.7})["temperature"] == 0.7


def test_job_stores_contexts_sentences_and_pairs_with_provenance(engine, scripted_dir, corpus):
    job_id, status = run_new_job(engine, params(scripted_dir, corpus, round=1, seed=5))
    assert status == "done"
    row = job_rows.get(engine, job_id)
    assert (row["progress_done"], row["progress_total"]) == (5, 5)
    with engine.connect() as conn:
        ctx_rows = conn.execute(select(contexts).order_by(contexts.c.seq)).mappings().all()
        sentence_rows = conn.execute(select(sentences)).mappings().all()
        pair_rows = conn.execute(select(pairs)).mappings().all()
    assert [c["seq"] for c in ctx_rows] == list(range(5))
    assert all(
        c["generated_at"] is not None and c["origin"] == "corpus" and c["round"] == 1 for c in ctx_rows
    )
    assert len(sentence_rows) == 30 and {s["text"] for s in sentence_rows} <= SENTENCES
    seq_of = {c["id"]: c["seq"] for c in ctx_rows}
    for s in sentence_rows:
        assert s["model"] == scripted_dir and s["seed"] == 5 + seq_of[s["context_id"]] and s["round"] == 1
        assert s["sampling"] == {
            "temperature": 0.5,
            "top_p": 0.9,
            "top_k": 50,
            "no_repeat_ngram_size": 3,
            "max_new_tokens": 60,
            "backend": "ctranslate2",  # auto on a CPU with ctranslate2 installed
            "quantization": "int8",
        }
    assert pair_rows and all(p["task"] == "paraphrase" and p["source"] != p["target"] for p in pair_rows)
    first = pair_rows[0]
    assert first["provenance"]["teacher"] == scripted_dir and first["provenance"]["job_id"] == job_id
    assert first["provenance"]["backend"] == "ctranslate2"
    assert any("teacher decoding: ctranslate2 (int8)" in line for line in row["log"].splitlines())
    assert first["source_sentence_id"] and first["target_sentence_id"]


def test_crash_then_resume_matches_an_uninterrupted_run(db_url, tmp_path, scripted_dir, corpus, monkeypatch):
    from db import connect

    clean = connect(f"sqlite:///{tmp_path / 'clean.db'}")
    assert run_new_job(clean, params(scripted_dir, corpus, backend="torch"))[1] == "done"

    crashed = connect(db_url)
    real = generate_module.sample_continuations
    calls = []

    def crash_on_second_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("simulated crash")
        return real(*args, **kwargs)

    monkeypatch.setattr(generate_module, "sample_continuations", crash_on_second_batch)
    job_id, status = run_new_job(crashed, params(scripted_dir, corpus, backend="torch"))
    assert status == "failed"
    assert job_rows.get(crashed, job_id)["progress_done"] == 2
    monkeypatch.setattr(generate_module, "sample_continuations", real)

    job_rows.requeue(crashed, job_id)
    assert runner.run_job(crashed, job_id) == "done"
    assert snapshot(crashed) == snapshot(clean)

    with crashed.begin() as conn:  # running a finished job again writes nothing new
        conn.execute(jobs.update().where(jobs.c.id == job_id).values(status="queued"))
    before = snapshot(crashed)
    assert runner.run_job(crashed, job_id) == "done"
    assert snapshot(crashed) == before


def test_teacher_sampled_contexts_and_summary_orientation(engine, scripted_dir):
    job_id, status = run_new_job(engine, params(scripted_dir, None, contexts=3, task="summary"))
    assert status == "done"
    with engine.connect() as conn:
        ctx_rows = conn.execute(select(contexts)).mappings().all()
        pair_rows = conn.execute(select(pairs.c.source, pairs.c.target, pairs.c.task)).all()
    assert len(ctx_rows) == 3 and all(c["origin"] == "teacher" and c["prefix"] for c in ctx_rows)
    assert all(c["text"].startswith(c["prefix"]) for c in ctx_rows)
    assert all(len(p.source) >= len(p.target) and p.task == "summary" for p in pair_rows)


def test_unloadable_teacher_fails_the_job_with_one_sentence(engine, corpus, tmp_path):
    job_id, status = run_new_job(engine, params(str(tmp_path / "no-such-model"), corpus))
    assert status == "failed"
    error = job_rows.get(engine, job_id)["error"]
    assert "no-such-model" in error and "\n" not in error
    with engine.connect() as conn:  # contexts were stored (stage 1); nothing else
        assert conn.execute(select(func.count()).select_from(sentences)).scalar_one() == 0
