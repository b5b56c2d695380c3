"""The labelled sample of generated pairs shipped in ``benchmarks/data`` imports cleanly: 409 human
judgements of pairs the embedded teacher made, each saying how it was made, in both classes."""

from __future__ import annotations

import json
from pathlib import Path

from curation.importing import import_labelled
from db.schema import labels

SAMPLE = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "generated_pairs_labelled.jsonl"


def test_the_shipped_sample_imports_with_every_label_and_how_it_was_made(engine):
    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 409
    assert all(
        "judged" in r["note"] and r["provenance"]["origin"] in ("generated", "student") for r in records
    )
    survivors = [r for r in records if r["provenance"]["sample"] == "survivor"]
    assert (
        len(survivors) == 100
    )  # a random sample of the default recipe's survivors; the rest sit below the cut

    summary = import_labelled(engine, SAMPLE)
    # one pair was generated (and labelled alike, accept) in two runs: it is stored once
    assert summary["inserted"] == 408 and summary["duplicates"] == 1
    assert summary["accepted"] + summary["rejected"] == 408 and 0 < summary["accepted"] < 408
    with engine.connect() as conn:
        assert len(conn.execute(labels.select()).all()) == 408


def test_each_random_sample_gives_the_precision_the_readme_reports():
    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]

    def accepted(sample: str) -> int:
        return sum(r["label"] == "accept" for r in records if r["provenance"]["sample"] == sample)

    # README, "The full loop on CPU": of 100 random pairs each
    assert accepted("survivor") == 32  # the default recipe on the first measurement run: 32% [24%, 42%]
    assert accepted("loop_version") == 29  # the cpu-hour loop's version: 29% [21%, 39%]
    assert accepted("loop_r1_pairs") == 4  # all 14 student-proposed pairs of the round-1 version
    assert accepted("temperature_0.3_version") == 10  # all 52 kept at teacher temperature 0.3: 19%
    assert accepted("k64_version") == 10  # all 43 kept at k = 64: 23%
