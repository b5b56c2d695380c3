"""JSONL export format, atomic writes, safe names, validated imports and the export -> import -> export
round trip."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
from sqlalchemy import insert, update

from curation import export as export_module
from curation.export import ImportFileError, export_jsonl, human_overrides, import_jsonl, safe_export_path
from curation.recipe import Recipe
from curation.review import set_label
from curation.select import selected_ids
from curation.versions import save_version
from db import connect
from db.queries import count_pairs
from db.schema import contexts, jobs, pairs, sentences
from tests.curation.helpers import add_scored

NLI = Recipe.default("paraphrase", "nli")


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def generated_pair(engine) -> int:
    """A pair with full provenance: job, context and source sentence rows."""
    with engine.begin() as conn:
        job = conn.execute(
            insert(jobs).values(kind="generate", params={}, status="done", log="")
        ).inserted_primary_key[0]
        ctx = conn.execute(
            insert(contexts).values(job_id=job, seq=0, text="In the news today: a storm.", origin="teacher")
        ).inserted_primary_key[0]
        sent = conn.execute(
            insert(sentences).values(
                context_id=ctx,
                job_id=job,
                sample_index=0,
                text="x",
                model="tiny-teacher",
                sampling={"temperature": 0.5, "top_p": 0.9},
                seed=42,
            )
        ).inserted_primary_key[0]
    pair_id = add_scored(engine)
    with engine.begin() as conn:
        conn.execute(
            update(pairs)
            .where(pairs.c.id == pair_id)
            .values(
                context_id=ctx, source_sentence_id=sent, job_id=job, embed_model="mini", nli_model="wanli"
            )
        )
    return pair_id


def test_export_writes_the_selection_with_full_records(engine, tmp_path):
    pair_id = generated_pair(engine)
    add_scored(engine, rouge_l=0.99)
    accepted = add_scored(engine, nli_forward=0.1)
    set_label(engine, accepted, "accept")
    out = tmp_path / "pairs.jsonl"
    assert export_jsonl(engine, out, recipe=NLI) == 2
    records = read(out)
    assert [r["id"] for r in records] == selected_ids(engine, NLI).tolist() == [pair_id, accepted]
    first = records[0]
    assert set(first) == {
        "id", "source", "target", "task", "scores", "provenance", "recipe", "label", "kept_by"
    }  # fmt: skip
    assert first["scores"]["rouge_l"] == 0.4 and first["task"] == "paraphrase"
    assert first["provenance"] == {
        "teacher": "tiny-teacher",
        "context": "In the news today: a storm.",
        "sampling": {"temperature": 0.5, "top_p": 0.9},
        "seed": 42,
        "round": 0,
        "job": 1,
        "embed_model": "mini",
        "nli_model": "wanli",
        "origin": "generated",
    }
    assert first["recipe"] == {**NLI.to_dict(), "hash": NLI.hash}
    assert not list(tmp_path.glob(".*partial"))


def test_export_says_which_pairs_a_human_accepted_against_the_critics(engine, tmp_path):
    kept = add_scored(engine)
    confirmed = add_scored(engine)
    rescued = add_scored(engine, nli_forward=0.1)  # the critics drop it; a human keeps it
    add_scored(engine, rouge_l=0.99)
    set_label(engine, confirmed, "accept")
    set_label(engine, rescued, "accept")
    out = tmp_path / "pairs.jsonl"
    assert export_jsonl(engine, out, recipe=NLI) == 3
    by_id = {r["id"]: (r["label"], r["kept_by"]) for r in read(out)}
    assert by_id == {kept: (None, "critics"), confirmed: ("accept", "critics"), rescued: ("accept", "human")}
    assert human_overrides(engine, recipe=NLI) == 1
    save_version(engine, "v1", NLI)
    assert human_overrides(engine, version="v1") == 1


def test_export_loads_with_datasets(engine, tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    generated_pair(engine)
    add_scored(engine)
    imported = add_scored(engine, task="paraphrase", nli_backward=0.8)
    with engine.begin() as conn:  # an imported pair: no context, provenance of another shape
        conn.execute(
            update(pairs).where(pairs.c.id == imported).values(origin="imported", provenance={"file": "x"})
        )
    out = tmp_path / "pairs.jsonl"
    export_jsonl(engine, out, recipe=NLI)
    loaded = datasets.load_dataset(
        "json", data_files=str(out), split="train", cache_dir=str(tmp_path / "cache")
    )
    assert loaded.num_rows == 3
    assert loaded[0]["provenance"]["teacher"] == "tiny-teacher" and loaded[2]["scores"]["nli_backward"] == 0.8


def test_version_export_uses_frozen_membership(engine, tmp_path):
    a = add_scored(engine)
    save_version(engine, "v1", NLI)
    set_label(engine, a, "reject")
    out = tmp_path / "v1.jsonl"
    assert export_jsonl(engine, out, version="v1") == 1
    assert read(out)[0]["recipe"]["version"] == "v1"
    assert export_jsonl(engine, tmp_path / "now.jsonl", recipe=NLI) == 0


def test_round_trip_export_import_export(engine, tmp_path):
    generated_pair(engine)
    add_scored(engine, nli_backward=0.8)
    add_scored(engine, task="summary", length_ratio=0.5, nli_backward=None)
    first = tmp_path / "a.jsonl"
    export_jsonl(engine, first, recipe=Recipe("paraphrase", {}, {}, dedup=False))
    fresh = connect(f"sqlite:///{tmp_path / 'fresh.db'}")
    result = import_jsonl(fresh, first)
    assert (result["records"], result["inserted"], result["duplicates"]) == (2, 2, 0)
    again = tmp_path / "b.jsonl"
    export_jsonl(fresh, again, recipe=Recipe("paraphrase", {}, {}, dedup=False))
    strip = lambda records: [{k: v for k, v in r.items() if k != "id"} for r in records]  # noqa: E731
    assert strip(read(again)) == strip(read(first))
    assert import_jsonl(fresh, first)["duplicates"] == 2


def test_malformed_lines_are_all_reported_and_nothing_is_imported(engine, tmp_path):
    path = tmp_path / "bad.jsonl"
    lines = [
        {"source": "A fine source.", "target": "A fine target."},
        "{not json",
        {"source": "", "target": "x"},
        {"source": "a", "target": "b", "task": "poetry"},
        {"source": "a", "target": "b", "scores": {"rouge_l": 1.7}},
        {"source": "a", "target": "b", "scores": {"colour": 0.1}},
        {"source": "a", "target": "b", "scores": {"nli_forward": "high"}},
    ]
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n\n")
    with pytest.raises(ImportFileError) as caught:
        import_jsonl(engine, path)
    assert [e.split(":")[0] for e in caught.value.errors] == [f"line {n}" for n in range(2, 8)]
    assert "nothing imported" in str(caught.value) and "rouge_l=1.7 is out of range" in str(caught.value)
    assert count_pairs(engine) == 0


def test_import_keeps_scores_and_marks_origin(engine, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"source": "One.", "target": "Uno.", "scores": {"rouge_l": 0.1}}) + "\n")
    assert import_jsonl(engine, path, task="summary")["inserted"] == 1
    with engine.connect() as conn:
        row = conn.execute(pairs.select()).mappings().one()
    assert (row["task"], row["origin"], row["rouge_l"], row["nli_forward"]) == (
        "summary",
        "imported",
        0.1,
        None,
    )


def test_import_of_missing_or_empty_file_is_a_clear_error(engine, tmp_path):
    with pytest.raises(FileNotFoundError):
        import_jsonl(engine, tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(ValueError, match="no records"):
        import_jsonl(engine, tmp_path / "empty.jsonl")


def test_safe_export_path_refuses_escapes(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    assert safe_export_path(folder, "v1.jsonl") == folder.resolve() / "v1.jsonl"
    (folder / "link.jsonl").symlink_to(tmp_path / "elsewhere.jsonl")
    for name in ("../x.jsonl", "/etc/passwd", "a/../../x", "link.jsonl", "", "..\\x.jsonl"):
        with pytest.raises(ValueError):
            safe_export_path(folder, name)


def test_full_disk_leaves_no_file_and_says_so(engine, tmp_path, monkeypatch):
    add_scored(engine)
    out = tmp_path / "pairs.jsonl"
    out.write_text("previous export\n")

    def no_space(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export_module.os, "fsync", no_space)
    with pytest.raises(ValueError, match="Disk full"):
        export_jsonl(engine, out, recipe=NLI)
    assert out.read_text() == "previous export\n"
    assert list(tmp_path.glob(".*partial")) == []


def test_export_streams_in_chunks(engine, tmp_path, monkeypatch):
    for _ in range(7):
        add_scored(engine)
    monkeypatch.setattr(export_module, "CHUNK_ROWS", 3)
    assert export_jsonl(engine, tmp_path / "p.jsonl", recipe=NLI) == 7
