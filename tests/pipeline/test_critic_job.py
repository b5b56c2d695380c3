"""The learned critic: training (reproducible, refuses too few labels), saving without pickle, and the
``learned`` score column flowing through scoring, recipes, statistics, review and export."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest

from cli import main
from curation.agreement import roc_auc
from curation.export import export_jsonl
from curation.importing import import_labelled
from curation.recipe import Recipe
from curation.review import review_queue
from curation.select import selected_ids
from curation.stats import summarize
from db import jobs as job_rows
from db.schema import pairs
from models.learned_critic import NotEnoughLabels, load_critic
from models.loading import ModelLoadError
from pipeline import critic_job, runner

WORDS = [
    "storm",
    "rain",
    "wind",
    "market",
    "shares",
    "price",
    "vote",
    "court",
    "film",
    "music",
    "team",
    "goal",
    "river",
    "bridge",
    "school",
    "train",
]


class BagOfWords:
    """Hashed bag of words, unit length: sentences sharing words are close."""

    name = "bag-of-words"

    def encode(self, texts, batch_size=128):
        vectors = np.zeros((len(texts), 32), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().strip(".").split():
                vectors[row, zlib.crc32(word.encode()) % 32] += 1.0
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


@pytest.fixture(autouse=True)
def fake_embedder(monkeypatch):
    embedder = BagOfWords()
    monkeypatch.setattr("models.critics.load_embedder", lambda spec, device=None: embedder)
    return embedder


def labelled_records(n: int, seed: int = 0, accept_share: float = 0.5) -> list[dict]:
    """Accepted pairs reuse the source's words in another order; rejected ones are about something else."""
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        words = list(rng.choice(WORDS, 5, replace=False))
        source = " ".join(words).capitalize() + "."
        if rng.random() < accept_share:
            target, label = " ".join(rng.permutation(words)).capitalize() + ".", "accept"
        else:
            other = [w for w in WORDS if w not in words]
            target, label = " ".join(rng.choice(other, 5, replace=False)).capitalize() + ".", "reject"
        records.append({"source": f"{source} ({i})", "target": f"{target} ({i})", "label": label})
    return records


def write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def run_job(engine, kind, params) -> str:
    job = job_rows.submit(engine, kind, params)
    status = runner.run_job(engine, job)
    assert status == "done", job_rows.get(engine, job)["error"]
    return status


def test_training_is_reproducible_for_a_seed_and_saved_as_json(engine, tmp_path):
    source = write(tmp_path / "labels.jsonl", labelled_records(60))
    metas = []
    for name in ("a", "b"):
        metas.append(critic_job.train({"out": str(tmp_path / name), "from": str(source)}, engine))
    a, b = load_critic(tmp_path / "a"), load_critic(tmp_path / "b")
    assert a.coef == b.coef and a.intercept == b.intercept
    assert metas[0]["training_hash"] == metas[1]["training_hash"] and metas[0]["cv_auc"] > 0.9
    assert (a.meta["accepted"] + a.meta["rejected"], a.score_columns) == (
        60,
        ["length_ratio", "rouge_l", "numbers_ok"],
    )
    assert set(a.meta) >= {"candidates", "trained_at", "features", "model", "train_seconds"}
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["critic.json"]  # JSON only: nothing to unpickle
    other = critic_job.train({"out": str(tmp_path / "c"), "from": str(source), "seed": 1}, engine)
    assert other["seed"] == 1


def test_too_few_labels_and_one_class_say_how_many_more(engine, tmp_path):
    with pytest.raises(NotEnoughLabels, match=r"at least 20 labelled pairs; there are 12 .*label 8 more"):
        critic_job.train(
            {"out": str(tmp_path / "x"), "from": str(write(tmp_path / "few.jsonl", labelled_records(12)))},
            engine,
        )
    one_class = write(tmp_path / "one.jsonl", labelled_records(30, accept_share=1.0))
    with pytest.raises(NotEnoughLabels, match=r"\(30 accept, 0 reject\): label 5 more as reject"):
        critic_job.train({"out": str(tmp_path / "x"), "from": str(one_class)}, engine)
    with pytest.raises(NotEnoughLabels, match="there are 0"):
        critic_job.train({"out": str(tmp_path / "x")}, engine)  # this database has no labels


def test_a_missing_or_broken_critic_is_one_sentence(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist. Train one with `impossible critic train"):
        load_critic(tmp_path / "nowhere")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "critic.json").write_text('{"format": "something else"}')
    with pytest.raises(ModelLoadError, match="is broken"):
        load_critic(tmp_path / "bad")


def test_the_learned_column_flows_through_scoring_recipe_stats_review_and_export(engine, tmp_path):
    records = labelled_records(60)
    import_labelled(engine, write(tmp_path / "labels.jsonl", records))
    run_job(engine, "critic", {"out": str(tmp_path / "critic")})  # from this database's labels
    unlabelled = [{k: v for k, v in r.items() if k != "label"} for r in labelled_records(20, seed=5)]
    import_labelled(engine, write(tmp_path / "new.jsonl", unlabelled))
    run_job(
        engine,
        "score",
        {
            "embedder": None,
            "critic": str(tmp_path / "critic"),
            "gate": {"min": {"length_ratio": None}, "max": {"length_ratio": None, "rouge_l": None}},
        },
    )
    with engine.connect() as conn:
        rows = conn.execute(pairs.select().order_by(pairs.c.id)).mappings().all()
    assert all(r["learned"] is not None for r in rows)
    assert {r["learned_model"] for r in rows} == {
        f"{tmp_path / 'critic'}@{load_critic(tmp_path / 'critic').meta['training_hash'][:12]}"
    }
    hidden = [r["label"] == "accept" for r in labelled_records(20, seed=5)]  # the new pairs' true labels
    assert roc_auc(np.array([r["learned"] for r in rows[60:]]), np.array(hidden)) > 0.9
    # stored once: scoring again computes nothing and changes nothing
    before = [r["learned"] for r in rows]
    run_job(engine, "score", {"embedder": None, "critic": str(tmp_path / "critic")})
    with engine.connect() as conn:
        assert [
            r[0] for r in conn.execute(pairs.select().with_only_columns(pairs.c.learned).order_by(pairs.c.id))
        ] == before

    recipe = Recipe("paraphrase", {"learned": 0.5}, {}, dedup=False)
    kept = selected_ids(engine, recipe).tolist()
    expected = [r["id"] for r in rows[60:] if r["learned"] >= 0.5]
    assert expected and set(expected) <= set(kept)  # labelled rejects are removed whatever the critic says
    summary = summarize(engine, recipe)
    assert sum(summary["histograms"]["learned"]["all"]) == 80
    assert [c["column"] for c in summary["critics"]] == ["learned"]
    boundary = review_queue(engine, recipe, mode="boundary", n=5)
    assert boundary and all(r["learned"] is not None for r in boundary)
    out = tmp_path / "out.jsonl"
    export_jsonl(engine, out, recipe=recipe)
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(r["scores"]["learned"] >= 0.5 or r["label"] == "accept" for r in exported)
    assert exported[0]["provenance"]["learned_model"].startswith(str(tmp_path / "critic"))


def test_cli_critic_train_prints_candidates_and_refuses_too_few(db_url, tmp_path, capsys):
    source = write(tmp_path / "labels.jsonl", labelled_records(40))
    assert main(["critic", "train", "--db", db_url, "--from", str(source), "--out", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert (
        "candidate logistic, scores + overlap + vectors, C=0.03: cross-validated AUC" in out
        and out.splitlines()[-1].startswith("cv_auc=")
    )
    few = write(tmp_path / "few.jsonl", labelled_records(5))
    assert main(["critic", "train", "--db", db_url, "--from", str(few), "--out", str(tmp_path / "d")]) == 1
    assert "label 15 more" in capsys.readouterr().err
    assert main(["score", "--db", db_url, "--critic", str(tmp_path / "nowhere"), "--embedder", "none"]) == 1
