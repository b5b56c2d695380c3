"""Fixtures for the studio tests: a database holding realistic scored candidates, and an AppContext."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from db.queries import insert_pairs
from db.types import Pair

CANDIDATES = Path(__file__).resolve().parents[1] / "data" / "studio_candidates.jsonl"


def load_candidates(engine, path: Path = CANDIDATES) -> int:
    """Insert the test candidates with their stored scores; return how many pairs were added."""
    items = []
    for line in path.read_text().splitlines():
        record = json.loads(line)
        items.append(
            Pair(
                source=record["source"],
                target=record["target"],
                task=record["task"],
                origin="imported",
                provenance=record.get("provenance") or {},
                scores=record["scores"],
            )
        )
    with engine.begin() as conn:
        return insert_pairs(conn, items)


@pytest.fixture
def studio_engine(engine):
    load_candidates(engine)
    return engine


@pytest.fixture
def ctx(studio_engine, db_url, tmp_path):
    from ui.context import AppContext

    return AppContext(db_url=db_url, engine=studio_engine, export_dir=tmp_path / "exports")
