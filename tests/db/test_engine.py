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
