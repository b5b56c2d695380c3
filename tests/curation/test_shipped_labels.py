"""The labelled sample of generated pairs shipped in ``benchmarks/data`` imports cleanly: 200 human
judgements of pairs the embedded teacher made, each saying how it was made, in both classes."""

from __future__ import annotations

import json
from pathlib import Path

from curation.importing import import_labelled
from db.schema import labels

SAMPLE = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "generated_pairs_labelled.jsonl"


def test_the_shipped_sample_imports_with_every_label_and_how_it_was_made(engine):
    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 200
    assert all("judged" in r["note"] and r["provenance"]["origin"] == "generated" for r in records)
    survivors = [r for r in records if r["provenance"]["sample"] == "survivor"]
    assert (
        len(survivors) == 100
    )  # a random sample of the default recipe's survivors; the rest sit below the cut

    summary = import_labelled(engine, SAMPLE)
    assert summary["inserted"] == 200 and summary["accepted"] + summary["rejected"] == 200
    assert 0 < summary["accepted"] < 200
    with engine.connect() as conn:
        assert len(conn.execute(labels.select()).all()) == 200


def test_the_survivor_stratum_gives_the_precision_the_readme_reports():
    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    survivors = [r for r in records if r["provenance"]["sample"] == "survivor"]
    accepted = sum(r["label"] == "accept" for r in survivors)
    assert accepted == 32  # README, "The full loop on CPU": 32% [24%, 42%] of 100 random survivors
