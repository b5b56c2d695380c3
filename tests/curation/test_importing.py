"""Labelled imports: JSONL labels and notes, the MRPC and SICK formats, and the label round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curation.export import export_jsonl
from curation.importing import ImportFileError, import_jsonl, import_labelled
from curation.recipe import Recipe
from curation.review import get_label
from db import connect
from db.queries import count_pairs
from db.schema import labels, pairs

EVERYTHING = Recipe("paraphrase", {}, {}, dedup=False)


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def labels_by_source(engine) -> dict[str, tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            pairs.join(labels, labels.c.pair_id == pairs.c.id)
            .select()
            .with_only_columns(pairs.c.source, labels.c.decision, labels.c.note)
        ).all()
    return {source: (decision, note) for source, decision, note in rows}


def write_jsonl(path: Path, records: list) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n")
    return path


def test_jsonl_labels_and_notes_become_human_labels(engine, tmp_path):
    path = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"source": "A cat sat.", "target": "A cat was sitting.", "label": "accept", "note": "fine"},
            {"source": "A dog ran.", "target": "The sky is blue.", "label": "reject"},
            {"source": "One more.", "target": "Another one."},
        ],
    )
    result = import_labelled(engine, path)
    assert (result["inserted"], result["accepted"], result["rejected"]) == (3, 1, 1)
    assert labels_by_source(engine) == {"A cat sat.": ("accept", "fine"), "A dog ran.": ("reject", "")}


def test_import_with_labels_round_trips_through_export(engine, tmp_path):
    path = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"source": "A cat sat.", "target": "A cat was sitting.", "label": "accept", "note": "good"},
            {"source": "A dog ran.", "target": "The sky is blue.", "label": "reject"},
            {"source": "No label here.", "target": "None at all."},
        ],
    )
    import_labelled(engine, path)
    first = tmp_path / "a.jsonl"
    export_jsonl(engine, first, recipe=EVERYTHING)
    # a human rejection removes the pair from every selection, so it is not exported
    assert [(r["label"], r["note"]) for r in read(first)] == [("accept", "good"), (None, None)]
    fresh = connect(f"sqlite:///{tmp_path / 'fresh.db'}")
    import_labelled(fresh, first)
    again = tmp_path / "b.jsonl"
    export_jsonl(fresh, again, recipe=EVERYTHING)
    strip = lambda records: [{k: v for k, v in r.items() if k != "id"} for r in records]  # noqa: E731
    assert strip(read(again)) == strip(read(first))
    assert labels_by_source(fresh) == {"A cat sat.": ("accept", "good")}


def test_a_label_on_an_existing_pair_replaces_its_label(engine, tmp_path):
    record = {"source": "A cat sat.", "target": "A cat was sitting."}
    import_labelled(engine, write_jsonl(tmp_path / "a.jsonl", [{**record, "label": "accept"}]))
    result = import_labelled(engine, write_jsonl(tmp_path / "b.jsonl", [{**record, "label": "reject"}]))
    assert (result["inserted"], result["duplicates"], result["rejected"]) == (0, 1, 1)
    assert labels_by_source(engine) == {"A cat sat.": ("reject", "")}


def test_bad_labels_are_reported_by_line_and_nothing_is_imported(engine, tmp_path):
    path = write_jsonl(
        tmp_path / "bad.jsonl",
        [
            {"source": "Good.", "target": "Fine.", "label": "accept"},
            {"source": "a", "target": "b", "label": "maybe"},
            {"source": "a", "target": "b", "note": 3},
        ],
    )
    with pytest.raises(ImportFileError) as caught:
        import_labelled(engine, path)
    assert caught.value.errors == [
        "line 2: label 'maybe' must be accept, reject or null",
        "line 3: 'note' must be a string",
    ]
    assert count_pairs(engine) == 0


MRPC = (
    "\ufeff1\t11\t12\tThe cat sat on the mat.\tOn the mat sat the cat.\n"
    "0\t13\t14\tPrices rose 5% in May.\tThe company hired a new chief.\n"
)


def test_mrpc_quality_becomes_accept_or_reject_with_sentence1_as_source(engine, tmp_path):
    path = tmp_path / "mrpc.txt"
    path.write_text("Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n" + MRPC.lstrip("\ufeff"))
    result = import_labelled(engine, path, "mrpc")
    assert (result["records"], result["accepted"], result["rejected"]) == (2, 1, 1)
    assert labels_by_source(engine) == {
        "The cat sat on the mat.": ("accept", ""),
        "Prices rose 5% in May.": ("reject", ""),
    }


def test_mrpc_with_a_bom_and_a_bad_line(engine, tmp_path):
    path = tmp_path / "mrpc.txt"
    path.write_text(MRPC + "2\t1\t2\ta\tb\nonly\ttwo\n", encoding="utf-8")
    with pytest.raises(ImportFileError) as caught:
        import_labelled(engine, path, "mrpc")
    assert caught.value.errors == [
        "line 3: quality '2' must be 0 or 1",
        "line 4: 2 tab-separated field(s), a mrpc line has 5",
    ]
    assert count_pairs(engine) == 0
    path.write_text(MRPC, encoding="utf-8")
    assert import_labelled(engine, path, "mrpc")["accepted"] == 1


def test_sick_entailment_is_accept_and_everything_else_reject(engine, tmp_path):
    path = tmp_path / "sick.txt"
    path.write_text(
        "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\n"
        "1\tA man is cooking.\tA person is cooking.\t4.5\tENTAILMENT\n"
        "2\tA dog runs.\tA cat sleeps.\t1.2\tNEUTRAL\n"
        "3\tA boy smiles.\tNo boy smiles.\t3.0\tCONTRADICTION\n"
    )
    result = import_labelled(engine, path, "sick", task="summary")
    assert (result["accepted"], result["rejected"]) == (1, 2)
    assert labels_by_source(engine)["A man is cooking."] == ("accept", "")
    with engine.connect() as conn:
        assert set(conn.execute(pairs.select().with_only_columns(pairs.c.task)).scalars()) == {"summary"}
    assert get_label(engine, 1)["queue"] == "import"


def test_an_unknown_format_is_refused(engine, tmp_path):
    with pytest.raises(ValueError, match="Unknown import format"):
        import_labelled(engine, write_jsonl(tmp_path / "x.jsonl", [{"source": "a", "target": "b"}]), "csv")


def test_a_line_that_is_not_utf8_is_named_by_its_line_number_after_blank_lines(engine, tmp_path):
    good = json.dumps({"source": "One two three.", "target": "Three two one."})
    path = tmp_path / "pairs.jsonl"
    path.write_bytes(f"{good}\n\n\n".encode() + "caf\u00e9\n".encode("latin-1"))
    with pytest.raises(ImportFileError, match="line 4: not UTF-8 text"):
        import_jsonl(engine, path)
