"""The one place that owns the engine: open any SQLAlchemy URL, migrate it, and hand out transactions.

SQLite (the default) gets WAL journaling and a busy timeout so the studio, the worker and the CLI can
share one file; any other URL (PostgreSQL, ...) is used as given.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import NullPool

from db.migrations import migrate

DEFAULT_URL = "sqlite:///studio.db"


class DatabaseError(RuntimeError):
    """A database URL that cannot be opened, with what to do about it."""


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def normalize_url(url: str) -> str:
    """Accept a bare file path as shorthand for ``sqlite:///path``."""
    if "://" in url:
        return url
    return f"sqlite:///{url}"


def connect(url: str = DEFAULT_URL, *, migrate_schema: bool = True) -> Engine:
    """Open (and by default migrate) the database at ``url``; raise ``DatabaseError`` with advice."""
    url = normalize_url(url)
    try:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                parent = Path(path).expanduser().resolve().parent
                if not parent.exists():
                    raise DatabaseError(
                        f"Cannot open {url}: folder {parent} does not exist. Create it first."
                    )
            # NullPool: every thread/process opens its own connection; WAL lets them read concurrently.
            engine = create_engine(url, poolclass=NullPool)
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
    except ArgumentError as exc:
        raise DatabaseError(
            f"Cannot parse database URL {url!r}: {exc}. Use e.g. sqlite:///studio.db"
        ) from exc
    except ModuleNotFoundError as exc:
        raise DatabaseError(
            f"No driver for {url!r} ({exc.name} is not installed). For PostgreSQL: pip install 'psycopg[binary]'."
        ) from exc
    if migrate_schema:
        try:
            migrate(engine)
        except OperationalError as exc:
            raise DatabaseError(f"Cannot open database {url}: {exc.orig}") from exc
    return engine


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction: committed on success, rolled back on any error."""
    with engine.begin() as conn:
        yield conn
