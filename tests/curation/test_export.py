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
        "id", "source", "target", "task", "scores", "provenance", "recipe", "label", "note", "kept_by"
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
        "learned_model": None,
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


@pytest.mark.parametrize("name", ["a\nb.jsonl", "tab\there.jsonl", "bell\x07.jsonl", "line\u2028sep.jsonl"])
def test_export_names_with_control_characters_are_refused(tmp_path, name):
    with pytest.raises(ValueError, match="contains the control character"):
        safe_export_path(tmp_path, name)


@pytest.mark.parametrize("name", ["x" * 300 + ".jsonl", "é" * 128 + ".jsonl", "sub/" + "y" * 256])
def test_over_long_export_names_are_a_clear_error_not_errno_36(tmp_path, name):
    with pytest.raises(ValueError, match=r"bytes long; a file name may have at most 255"):
        safe_export_path(tmp_path, name)


def test_a_255_byte_name_exports(engine, tmp_path):
    add_scored(engine)
    name = "n" * 249 + ".jsonl"
    assert export_jsonl(engine, safe_export_path(tmp_path, name), recipe=NLI) == 1
    assert (tmp_path / name).is_file()
    with pytest.raises(ValueError, match="at most 255"):
        export_jsonl(engine, tmp_path / ("n" + name), recipe=NLI)


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


GOOD_LINE = json.dumps({"source": "A fine source.", "target": "A fine target."})
BAD_LINES = [
    ("[" * 100_000, "nested deeper than 64 levels"),
    ('{"source": "a", "target": "b", "provenance": {"seed": ' + "7" * 5000 + "}}", "a 5000-digit number is too long"),
    (json.dumps({"source": "a\u0000b", "target": "c"}), "text in source contains a NUL character"),
    (json.dumps({"source": "a", "target": "b", "provenance": {"x": "\u0000"}}), "text in provenance.x contains a NUL"),
    ('{"source": "a", "target": "b", "provenance": {"seed": NaN}}', "NaN is not a JSON value"),
    ('{"source": "a", "target": "b", "scores": {"rouge_l": Infinity}}', "Infinity is not a JSON value"),
    ('{"source": "a", "target": "b", "scores": {"rouge_l": 1e999}}', "number 1e999 is out of range"),
    ('{"source": "a\\ud800", "target": "b"}', "text in source contains an unpaired surrogate"),
    (json.dumps({"source": "a", "target": "b", "provenance": {"round": 10**12}}), "provenance.round must be a whole number"),
    (json.dumps({"source": "a", "target": "b", "provenance": {"round": "2"}}), "provenance.round must be a whole number"),
    (json.dumps({"source": "a", "target": "b", "provenance": {"teacher": 5}}), "provenance.teacher must be a string"),
    (json.dumps({"source": "a", "target": "b", "task": ["x"]}), "task \"['x']\" is not one of"),
    (json.dumps({"source": "a" * 100_001, "target": "b"}), "'source' is 100,001 characters long"),
]  # fmt: skip


@pytest.mark.parametrize(("line", "reason"), BAD_LINES, ids=[reason for _, reason in BAD_LINES])
def test_every_bad_value_is_refused_by_line_on_every_backend(any_engine, tmp_path, line, reason):
    path = tmp_path / "bad.jsonl"
    path.write_text(f"{GOOD_LINE}\n{line}\n", encoding="utf-8", errors="surrogatepass")
    with pytest.raises(ImportFileError) as caught:
        import_jsonl(any_engine, path)
    [error] = caught.value.errors
    assert error.startswith(f"line 2: {reason}")
    assert count_pairs(any_engine) == 0


def test_unicode_and_big_but_valid_values_import_on_every_backend(any_engine, tmp_path):
    record = {
        "source": "Café — 東京 😀.",
        "target": "Un café à Tokyo.",
        "provenance": {"seed": 2**62, "round": 3},
    }
    path = tmp_path / "good.jsonl"
    path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    assert import_jsonl(any_engine, path)["inserted"] == 1
    [exported] = list(export_module.iter_export(any_engine, recipe=Recipe("paraphrase", {}, {}, dedup=False)))
    assert (exported["source"], exported["provenance"]["seed"]) == (record["source"], 2**62)


def test_pair_key_refuses_nul_so_distinct_pairs_never_share_a_key():
    from db.types import pair_key

    for source, target in (("a\0b", "c"), ("a", "b\0c")):
        with pytest.raises(ValueError, match="may not contain a NUL"):
            pair_key("paraphrase", source, target)
    assert pair_key("paraphrase", "ab", "c") != pair_key("paraphrase", "a", "bc")


def test_export_is_strict_json_and_names_the_pair_holding_nan(engine, tmp_path):
    pair_id = add_scored(engine)
    with engine.begin() as conn:  # an older database could hold a bare NaN in a JSON column
        conn.exec_driver_sql("UPDATE pairs SET provenance = '{\"seed\": NaN}' WHERE id = ?", (pair_id,))
    out = tmp_path / "p.jsonl"
    with pytest.raises(ValueError, match=f"Pair {pair_id} holds NaN or Infinity"):
        export_jsonl(engine, out, recipe=Recipe("paraphrase", {}, {}, dedup=False))
    assert not out.exists() and list(tmp_path.glob(".*partial")) == []
