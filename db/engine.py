"""The one place that owns the engine: open any SQLAlchemy URL, migrate it, and hand out transactions.

SQLite (the default) gets WAL journaling and a busy timeout so the studio, the worker and the CLI can
share one file; any other URL (PostgreSQL, ...) is used as given.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, make_url
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


def resolve_url(url: str) -> str:
    """``url`` with a SQLite file path made absolute (against the current folder), other URLs unchanged.

    Called once at start by the app, the CLI and the worker, so a process started from another folder
    (the studio's worker) opens the very same file.
    """
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return url  # ``connect`` reports it
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return url
    if database.startswith("file:") or parsed.query.get("uri"):
        return url  # a SQLite URI filename: used as given
    absolute = str(Path(database).expanduser().resolve())
    return parsed.set(database=absolute).render_as_string(hide_password=False)


_PASSWORD_IN_URL = re.compile(r"(\w[\w+.-]*://[^:/@\s]*:)[^@\s]*@")


def display_url(url: str) -> str:
    """``url`` safe to show or log: the password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return hide_passwords(url)


def hide_passwords(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@`` in it replaced by ``***``."""
    return _PASSWORD_IN_URL.sub(r"\1***@", text)


def connect(url: str = DEFAULT_URL, *, migrate_schema: bool = True) -> Engine:
    """Open (and by default migrate) the database at ``url``; raise ``DatabaseError`` with advice.

    Error messages show the URL with its password masked.
    """
    url = resolve_url(url)
    shown = display_url(url)
    try:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                parent = Path(path).expanduser().resolve().parent
                if not parent.exists():
                    raise DatabaseError(
                        f"Cannot open {shown}: folder {parent} does not exist. Create it first."
                    )
            # NullPool: every thread/process opens its own connection; WAL lets them read concurrently.
            engine = create_engine(url, poolclass=NullPool)
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
    except (ArgumentError, ValueError) as exc:
        raise DatabaseError(
            hide_passwords(f"Cannot parse database URL {url!r}: {exc}. Use e.g. sqlite:///studio.db")
        ) from exc
    except ModuleNotFoundError as exc:
        raise DatabaseError(
            f"No driver for {shown!r} ({exc.name} is not installed). For PostgreSQL: pip install 'psycopg[binary]'."
        ) from exc
    if migrate_schema:
        try:
            migrate(engine)
        except OperationalError as exc:
            raise DatabaseError(hide_passwords(f"Cannot open database {shown}: {exc.orig}")) from exc
    return engine


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction: committed on success, rolled back on any error."""
    with engine.begin() as conn:
        yield conn
