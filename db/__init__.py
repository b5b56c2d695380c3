"""Storage: schema, engine, migrations and small named queries that return plain data."""

from db.engine import (
    DEFAULT_URL,
    DatabaseError,
    connect,
    describe_error,
    display_url,
    resolve_url,
)

__all__ = [
    "DEFAULT_URL",
    "DatabaseError",
    "connect",
    "describe_error",
    "display_url",
    "resolve_url",
]
