"""The one place that owns the engine: open any SQLAlchemy URL and migrate it.

SQLite (the default) gets WAL journaling and a busy timeout so the studio, the worker and the CLI can
share one file; any other URL (PostgreSQL, ...) is used as given.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError, StatementError
from sqlalchemy.pool import NullPool

from db.migrations import migrate
from db.values import dumps_strict

DEFAULT_URL = "sqlite:///studio.db"
#: The database URL when ``--db`` is not given (the studio hands it to its worker this way, so a
#: password never appears in a process list).
DB_ENV = "IMPOSSIBLE_DB"


class DatabaseError(RuntimeError):
    """A database URL that cannot be opened, with what to do about it."""


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def describe_error(exc: BaseException) -> str:
    """One line saying what went wrong with the database, without the SQL or the row data it carried.

    SQLAlchemy's own message appends the statement and its parameters (pairs' text, job parameters);
    that belongs in a debug log, not in an error shown to the user or stored on a job row.
    """
    reason = str(exc.orig) if isinstance(exc, StatementError) and exc.orig is not None else str(exc)
    reason = reason.strip().splitlines()[0] if reason.strip() else type(exc).__name__
    if "database or disk is full" in reason or "No space left on device" in reason:
        return f"Disk full: the database could not be written ({reason}); nothing of the failed step was saved. Free some space and run it again."
    if "file is not a database" in reason:
        return (
            f"Not a database ({reason}): point --db at a SQLite file made by the studio, or a new file name."
        )
    if "malformed" in reason:
        return f"The database is corrupt ({reason}); restore it from a backup or start a new one."
    return f"Database error: {reason}"


def check_integrity(engine: Engine) -> None:
    """Refuse a SQLite file with a damaged page (``PRAGMA quick_check``: every page is read once, about
    0.3 s for 500,000 pairs), so that no command reads or writes a corrupt database."""
    with engine.connect() as conn:
        problems = [row[0] for row in conn.exec_driver_sql("PRAGMA quick_check").all()]
    if problems != ["ok"]:
        first = " ".join(problems[0].replace("*** in database main ***", "").split())
        raise DatabaseError(
            f"The database {engine.url.database} is corrupt (quick_check: {first[:200]}); "
            "restore it from a backup, or try `sqlite3 FILE .recover` into a new file."
        )


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
            engine = create_engine(url, poolclass=NullPool, json_serializer=dumps_strict)
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True, json_serializer=dumps_strict)
    except (ArgumentError, ValueError) as exc:
        raise DatabaseError(
            hide_passwords(f"Cannot parse database URL {url!r}: {exc}. Use e.g. sqlite:///studio.db")
        ) from exc
    except ModuleNotFoundError as exc:
        raise DatabaseError(
            f"No driver for {shown!r} ({exc.name} is not installed). For PostgreSQL: pip install 'psycopg[binary]'."
        ) from exc
    try:
        if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            check_integrity(engine)
        if migrate_schema:
            migrate(engine)
    except SQLAlchemyError as exc:
        raise DatabaseError(hide_passwords(f"Cannot open database {shown}: {describe_error(exc)}")) from exc
    return engine
