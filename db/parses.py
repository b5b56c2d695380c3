"""Named queries on ``parses``: one constituency tree (or parse error) per parser and sentence text."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, delete, select

from db.queries import insert_ignoring_duplicates
from db.schema import parses

#: texts per ``IN (...)`` lookup (well under every backend's bound-parameter limit)
LOOKUP_CHUNK = 500


def text_key(text: str) -> str:
    """The sentence's key in ``parses`` (sha1 of its exact text)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StoredParse:
    """A stored parse: the bracketed tree, or why the parser rejected the sentence."""

    tree: str | None
    error: str | None


def stored_parses(conn: Connection, parser: str, texts: Iterable[str]) -> dict[str, StoredParse]:
    """The stored parses of ``texts`` by ``parser``, keyed by text (texts never parsed are absent)."""
    by_key = {text_key(t): t for t in texts}
    keys = list(by_key)
    found: dict[str, StoredParse] = {}
    for start in range(0, len(keys), LOOKUP_CHUNK):
        chunk = keys[start : start + LOOKUP_CHUNK]
        query = select(parses.c.text_key, parses.c.tree, parses.c.error).where(
            parses.c.parser == parser, parses.c.text_key.in_(chunk)
        )
        for key, tree, error in conn.execute(query):
            found[by_key[key]] = StoredParse(tree, error)
    return found


def store_parses(conn: Connection, parser: str, results: dict[str, StoredParse]) -> None:
    """Record new parses; a sentence already stored (by another job meanwhile) keeps its first parse."""
    rows = [
        {"parser": parser, "text_key": text_key(t), "text": t, "tree": p.tree, "error": p.error}
        for t, p in results.items()
    ]
    if rows:
        conn.execute(insert_ignoring_duplicates(conn, parses), rows)


def forget_parses(conn: Connection, parser: str, texts: Iterable[str]) -> None:
    """Drop the stored parses of ``texts`` (to store them again: one written in an unreadable form)."""
    keys = [text_key(t) for t in texts]
    for start in range(0, len(keys), LOOKUP_CHUNK):
        chunk = keys[start : start + LOOKUP_CHUNK]
        conn.execute(delete(parses).where(parses.c.parser == parser, parses.c.text_key.in_(chunk)))


def parse_of(engine: Engine, parser: str, text: str) -> StoredParse | None:
    """One sentence's stored parse, or None when it was never parsed."""
    with engine.connect() as conn:
        return stored_parses(conn, parser, [text]).get(text)
