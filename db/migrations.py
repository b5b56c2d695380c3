"""Named, ordered schema migrations, recorded in the ``schema_migrations`` table (sqlite-utils style).

Append new migrations to ``MIGRATIONS``; never edit or reorder an applied one. ``0001_initial_schema``
creates the first release's tables (frozen in ``db.initial_schema``) and every later change to
``db.schema`` is its own migration, so a fresh database runs them all and ends up with the same schema as
one made by an older release. A database made before 0001 was frozen already has the columns its
``create_all`` made, and a branch may have recorded a migration under an older number, so each migration
leaves in place what is already there.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import (
    JSON,
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
from db.initial_schema import initial_metadata

_meta = MetaData()
schema_migrations = Table(
    "schema_migrations",
    _meta,
    Column("name", String(128), primary_key=True),
    Column("applied_at", DateTime, nullable=False, server_default=func.now()),
)


def _initial_schema(conn: Connection) -> None:
    """The first release's tables, as they were then (not today's ``db.schema``)."""
    initial_metadata().create_all(conn)


def _pairs_score_error(conn: Connection) -> None:
    """``pairs.score_error``: why scoring gave up on a pair (databases made before the column existed)."""
    if "score_error" not in {column["name"] for column in inspect(conn).get_columns("pairs")}:
        conn.exec_driver_sql("ALTER TABLE pairs ADD COLUMN score_error TEXT")


def _database_identity(conn: Connection) -> None:
    """``studio_meta.database_id``: a random id naming this database (run folders, resume checks)."""
    schema.studio_meta.create(conn, checkfirst=True)
    exists = conn.execute(
        select(schema.studio_meta.c.value).where(schema.studio_meta.c.key == "database_id")
    ).first()
    if exists is None:
        conn.execute(insert(schema.studio_meta).values(key="database_id", value=uuid.uuid4().hex))


def _jobs_phase(conn: Connection) -> None:
    """``jobs.phase``: the job's current phase and its live progress (databases made before it existed)."""
    if "phase" not in {column["name"] for column in inspect(conn).get_columns("jobs")}:
        kind = JSON().compile(dialect=conn.dialect)
        conn.exec_driver_sql(f"ALTER TABLE jobs ADD COLUMN phase {kind}")


def _pairs_learned(conn: Connection) -> None:
    """``pairs.learned`` (a learned critic's probability), ``pairs.learned_model`` and the score's index."""
    present = {column["name"] for column in inspect(conn).get_columns("pairs")}
    if "learned" not in present:
        conn.exec_driver_sql("ALTER TABLE pairs ADD COLUMN learned FLOAT")
    if "learned_model" not in present:
        conn.exec_driver_sql("ALTER TABLE pairs ADD COLUMN learned_model TEXT")
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_pairs_learned ON pairs (learned)")


def _version_reports(conn: Connection) -> None:
    """``version_reports``: a version's dataset report, stored once computed."""
    schema.version_reports.create(conn, checkfirst=True)


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


def _jobs_parent(conn: Connection) -> None:
    """``jobs.parent_id``: the loop job a stage's job belongs to (databases made before it existed)."""
    if "parent_id" not in {column["name"] for column in inspect(conn).get_columns("jobs")}:
        conn.exec_driver_sql("ALTER TABLE jobs ADD COLUMN parent_id INTEGER")


MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("0001_initial_schema", _initial_schema),
    ("0002_pairs_score_error", _pairs_score_error),
    ("0003_database_identity", _database_identity),
    ("0004_jobs_phase", _jobs_phase),
    ("0005_pairs_learned", _pairs_learned),
    ("0006_version_reports", _version_reports),
    ("0007_syntax_parses", _syntax),
    ("0008_jobs_parent", _jobs_parent),
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


def database_id(engine: Engine) -> str:
    """This database's identity (written by migration ``0003_database_identity``)."""
    with engine.connect() as conn:
        value = conn.execute(
            select(schema.studio_meta.c.value).where(schema.studio_meta.c.key == "database_id")
        ).scalar()
    if value is None:
        raise RuntimeError("This database has no identity yet; open it once with migrations (db.connect).")
    return value
