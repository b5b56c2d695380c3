"""Named, ordered schema migrations, recorded in the ``schema_migrations`` table (sqlite-utils style).

Append new migrations to ``MIGRATIONS``; never edit or reorder an applied one.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    MetaData,
    String,
    Table,
    func,
    insert,
    inspect,
    select,
)

from db import schema

_meta = MetaData()
schema_migrations = Table(
    "schema_migrations",
    _meta,
    Column("name", String(128), primary_key=True),
    Column("applied_at", DateTime, nullable=False, server_default=func.now()),
)


def _initial_schema(conn: Connection) -> None:
    schema.metadata.create_all(conn)


def _pairs_score_error(conn: Connection) -> None:
    """``pairs.score_error``: why scoring gave up on a pair (databases made before the column existed)."""
    if "score_error" not in {column["name"] for column in inspect(conn).get_columns("pairs")}:
        conn.exec_driver_sql("ALTER TABLE pairs ADD COLUMN score_error TEXT")


def _syntax(conn: Connection) -> None:
    """The ``ted`` critic: ``pairs.ted`` (indexed, like every score), ``pairs.ted_error`` and the
    ``parses`` table (one constituency tree, or parse error, per parser and sentence)."""
    existing = {column["name"] for column in inspect(conn).get_columns("pairs")}
    if "ted" not in existing:
        conn.exec_driver_sql("ALTER TABLE pairs ADD COLUMN ted FLOAT")
        conn.exec_driver_sql("CREATE INDEX ix_pairs_ted ON pairs (ted)")
    if "ted_error" not in existing:
        conn.exec_driver_sql("ALTER TABLE pairs ADD COLUMN ted_error TEXT")
    schema.parses.create(conn, checkfirst=True)


MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("0001_initial_schema", _initial_schema),
    ("0002_pairs_score_error", _pairs_score_error),
    ("0003_syntax_parses", _syntax),
]


def applied(engine: Engine) -> list[str]:
    """Names of the migrations already applied to this database, in order (names are numbered)."""
    with engine.connect() as conn:
        return list(conn.scalars(select(schema_migrations.c.name).order_by(schema_migrations.c.name)))


def migrate(engine: Engine) -> list[str]:
    """Apply every pending migration, each in its own transaction; return the names applied now."""
    _meta.create_all(engine)
    done = set(applied(engine))
    newly = []
    for name, step in MIGRATIONS:
        if name in done:
            continue
        with engine.begin() as conn:
            step(conn)
            conn.execute(insert(schema_migrations).values(name=name))
        newly.append(name)
    return newly
