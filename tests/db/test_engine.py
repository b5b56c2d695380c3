from sqlalchemy import inspect, select

from db import DatabaseError, connect
from db.migrations import MIGRATIONS, applied, migrate
from db.queries import count_pairs, insert_pairs, pairs_by_id
from db.schema import SCORE_COLUMNS, pairs
from pipeline.types import Pair


def test_connect_creates_every_table_and_records_migrations(db_url):
    engine = connect(db_url)
    tables = set(inspect(engine).get_table_names())
    assert {"jobs", "contexts", "sentences", "pairs", "labels", "versions", "version_pairs"} <= tables
    assert applied(engine) == [name for name, _ in MIGRATIONS]
    assert migrate(engine) == []  # a second run applies nothing


def test_sqlite_uses_wal(engine):
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_bare_path_is_sqlite(tmp_path):
    engine = connect(str(tmp_path / "plain.db"))
    assert engine.url.drivername == "sqlite"
    assert (tmp_path / "plain.db").exists()


def test_missing_folder_is_a_clear_error(tmp_path):
    try:
        connect(f"sqlite:///{tmp_path}/no/such/dir/studio.db")
    except DatabaseError as exc:
        assert "does not exist" in str(exc)
    else:
        raise AssertionError("expected DatabaseError")


def test_unknown_driver_is_a_clear_error():
    try:
        connect("nosuchdb://user@host/db")
    except DatabaseError as exc:
        assert "nosuchdb" in str(exc)
    else:
        raise AssertionError("expected DatabaseError")


def test_insert_pairs_skips_duplicates_and_keeps_scores(any_engine):
    engine = any_engine
    with engine.begin() as conn:
        assert insert_pairs(conn, [Pair("a b", "c d"), Pair("a b", "e f", scores={"rouge_l": 0.25})]) == 2
    with engine.begin() as conn:
        assert insert_pairs(conn, [Pair("a b", "c d"), Pair("a b", "c d", task="summary")]) == 1
    assert count_pairs(engine) == 3
    with engine.connect() as conn:
        rouge = conn.execute(select(pairs.c.rouge_l).where(pairs.c.target == "e f")).scalar_one()
    assert rouge == 0.25


def test_pairs_by_id_keeps_order_and_all_score_columns(any_engine):
    engine = any_engine
    with engine.begin() as conn:
        insert_pairs(conn, [Pair(f"s{i}", f"t{i}") for i in range(3)])
    rows = pairs_by_id(engine, [3, 1])
    assert [r["source"] for r in rows] == ["s2", "s0"]
    assert set(SCORE_COLUMNS) <= set(rows[0])


def test_a_database_from_before_job_phases_gains_the_column(db_url):
    engine = connect(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE jobs DROP COLUMN phase")
        conn.exec_driver_sql("DELETE FROM schema_migrations WHERE name = '0003_jobs_phase'")
    assert "phase" not in {c["name"] for c in inspect(engine).get_columns("jobs")}
    assert migrate(engine) == ["0003_jobs_phase"]
    assert "phase" in {c["name"] for c in inspect(engine).get_columns("jobs")}
