import sqlite3

import pytest
from sqlalchemy import insert, inspect, select
from sqlalchemy.exc import IntegrityError, OperationalError, StatementError

from db import DatabaseError, connect, describe_error
from db.migrations import MIGRATIONS, applied, migrate
from db.queries import count_pairs, insert_pairs, pairs_by_id
from db.schema import SCORE_COLUMNS, jobs, pairs
from db.types import Pair


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


def _corrupt_a_middle_page(path) -> None:
    """Overwrite a b-tree page header in the middle of the file: ordinary queries on other tables still
    work, ``PRAGMA quick_check`` reports the damage."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size, page_count = (
        con.execute("PRAGMA page_size").fetchone()[0],
        con.execute("PRAGMA page_count").fetchone()[0],
    )
    con.close()
    with open(path, "r+b") as handle:
        handle.seek((page_count // 2 - 1) * page_size + 8)
        handle.write(b"\x00\x00\x00\xff" * 4)


def test_a_corrupt_database_is_refused_on_open(tmp_path):
    path = tmp_path / "studio.db"
    engine = connect(f"sqlite:///{path}")
    with engine.begin() as conn:
        insert_pairs(conn, [Pair(f"source {i} " * 5, f"target {i} " * 5) for i in range(1000)])
    engine.dispose()
    _corrupt_a_middle_page(path)
    with pytest.raises(DatabaseError, match=r"is corrupt \(quick_check: On tree page \d+") as caught:
        connect(f"sqlite:///{path}")
    assert "\n" not in str(caught.value) and "backup" in str(caught.value)


def test_a_file_that_is_not_a_database_is_a_one_line_error(tmp_path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    with pytest.raises(DatabaseError, match="Not a database .file is not a database.") as caught:
        connect(str(path))
    assert "\n" not in str(caught.value)


def test_describe_error_drops_the_statement_and_row_data(engine):
    with pytest.raises(IntegrityError) as caught, engine.begin() as conn:
        conn.execute(insert(pairs).values(task="paraphrase", pair_key="k", source="SECRET ROW", target=None))
    message = describe_error(caught.value)
    assert "SECRET ROW" not in message and "INSERT" not in message and "\n" not in message
    assert message.startswith("Database error: NOT NULL constraint failed: pairs.target")
    full = OperationalError(
        "INSERT INTO pairs ...",
        {"source": "SECRET ROW"},
        sqlite3.OperationalError("database or disk is full"),
    )
    assert describe_error(full).startswith("Disk full: the database could not be written")
    assert "SECRET ROW" not in describe_error(full)


def test_json_columns_are_strict_json(engine):
    with pytest.raises(StatementError, match="not JSON compliant") as caught, engine.begin() as conn:
        conn.execute(
            insert(jobs).values(
                kind="generate", params={"temperature": float("nan")}, status="queued", log=""
            )
        )
    assert describe_error(caught.value) == "Database error: Out of range float values are not JSON compliant"


def test_a_relative_sqlite_url_is_resolved_against_the_current_folder(tmp_path, monkeypatch):
    from db import resolve_url

    monkeypatch.chdir(tmp_path)
    assert resolve_url("sqlite:///rel.db") == f"sqlite:///{tmp_path / 'rel.db'}"
    assert resolve_url("rel.db") == f"sqlite:///{tmp_path / 'rel.db'}"
    assert resolve_url("sqlite:///:memory:") == "sqlite:///:memory:"
    assert resolve_url("postgresql://u:p@host/db") == "postgresql://u:p@host/db"
    assert connect("sqlite:///rel.db").url.database == str(tmp_path / "rel.db")


def test_passwords_are_masked_in_shown_urls_and_connection_errors():
    from db import display_url

    url = "postgresql+psycopg://studio:SECRET@db.example:5432/studio?sslmode=require"
    assert display_url(url) == "postgresql+psycopg://studio:***@db.example:5432/studio?sslmode=require"
    assert display_url("sqlite:///studio.db") == "sqlite:///studio.db"
    for bad in ("nosuchdb://studio:SECRET@host/db", "postgresql://studio:SECRET@host:notaport/db"):
        try:
            connect(bad)
        except DatabaseError as exc:
            assert "SECRET" not in str(exc) and "studio:***@" in str(exc), str(exc)
        else:
            raise AssertionError(f"expected DatabaseError for {bad}")


def test_a_database_from_before_job_phases_gains_the_column(db_url):
    engine = connect(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE jobs DROP COLUMN phase")
        conn.exec_driver_sql("DELETE FROM schema_migrations WHERE name = '0004_jobs_phase'")
    assert "phase" not in {c["name"] for c in inspect(engine).get_columns("jobs")}
    assert migrate(engine) == ["0004_jobs_phase"]
    assert "phase" in {c["name"] for c in inspect(engine).get_columns("jobs")}
