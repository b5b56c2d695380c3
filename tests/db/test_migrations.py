"""Migration 0003 adds the learned critic's columns to a database made before they existed."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

from db import connect
from db.migrations import applied


def test_an_old_database_gains_the_learned_columns_and_keeps_its_rows(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    connect(url).dispose()
    raw = create_engine(url)
    with raw.begin() as conn:  # make it look like a database from before 0003
        conn.exec_driver_sql("DROP INDEX ix_pairs_learned")
        conn.exec_driver_sql("ALTER TABLE pairs DROP COLUMN learned")
        conn.exec_driver_sql("ALTER TABLE pairs DROP COLUMN learned_model")
        conn.exec_driver_sql("DELETE FROM schema_migrations WHERE name = '0005_pairs_learned'")
        conn.exec_driver_sql(
            "INSERT INTO pairs (task, pair_key, source, target, origin, round) "
            "VALUES ('paraphrase', 'k', 'A.', 'B.', 'imported', 0)"
        )
    raw.dispose()
    engine = connect(url)
    columns = {c["name"] for c in inspect(engine).get_columns("pairs")}
    assert {"learned", "learned_model"} <= columns
    assert "ix_pairs_learned" in {i["name"] for i in inspect(engine).get_indexes("pairs")}
    assert "0005_pairs_learned" in applied(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT source, learned FROM pairs").all() == [("A.", None)]
