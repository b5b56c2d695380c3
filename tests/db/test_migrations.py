"""Migrations: 0005 adds the learned critic's columns to an older database; 0001 is frozen, so a fresh
database runs every later migration and ends up with the schema of one made by an older release."""

from __future__ import annotations

from sqlalchemy import create_engine, insert, inspect

from db import connect, schema
from db.migrations import MIGRATIONS, applied, database_id, schema_migrations


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


def schema_of(engine) -> dict:
    """Every table's columns, indexes, unique constraints, foreign keys and primary key, by name (a column
    a migration added comes last in its table, so the column order is left out)."""
    inspector = inspect(engine)
    out = {}
    for table in inspector.get_table_names():
        columns = {
            c["name"]: (str(c["type"]), c["nullable"], c.get("default")) for c in inspector.get_columns(table)
        }
        indexes = sorted(
            (i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in inspector.get_indexes(table)
        )
        uniques = sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table))
        foreign = sorted(
            (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
            for f in inspector.get_foreign_keys(table)
        )
        primary = tuple(inspector.get_pk_constraint(table)["constrained_columns"])
        out[table] = {"columns": columns, "indexes": indexes, "unique": uniques, "fk": foreign, "pk": primary}
    return out


def test_the_initial_migration_creates_the_first_release_tables_and_later_ones_add_the_rest(tmp_path):
    raw = create_engine(f"sqlite:///{tmp_path / 'first.db'}")
    with raw.begin() as conn:
        MIGRATIONS[0][1](conn)  # 0001_initial_schema alone
    first = schema_of(raw)
    raw.dispose()
    assert MIGRATIONS[0][0] == "0001_initial_schema"
    assert {"studio_meta", "parses", "version_reports"}.isdisjoint(first)
    later = {"score_error", "learned", "learned_model", "ted", "ted_error"}
    assert later.isdisjoint(first["pairs"]["columns"]) and "phase" not in first["jobs"]["columns"]
    assert "nli_backward" in first["pairs"]["columns"]


def test_a_fresh_database_matches_one_made_by_the_old_create_all_migration(tmp_path):
    fresh = connect(f"sqlite:///{tmp_path / 'fresh.db'}")
    old_url = f"sqlite:///{tmp_path / 'old.db'}"
    raw = create_engine(old_url)
    schema_migrations.metadata.create_all(raw)
    with raw.begin() as conn:  # what 0001 did before it was frozen: today's create_all
        schema.metadata.create_all(conn)
        conn.execute(insert(schema_migrations).values(name="0001_initial_schema"))
    raw.dispose()
    old = connect(old_url)
    assert applied(old) == applied(fresh) == [name for name, _ in MIGRATIONS]
    assert schema_of(old) == schema_of(fresh)
    assert schema_of(fresh)["pairs"]["columns"].keys() == {c.name for c in schema.pairs.columns}
    assert set(schema_of(fresh)) == {*schema.metadata.tables, "schema_migrations"}
    assert database_id(old) != database_id(fresh)
