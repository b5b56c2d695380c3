"""Small named queries shared by several packages. Each returns plain data or a count."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from db.schema import SCORE_COLUMNS, contexts, pairs, sentences
from db.types import Pair


def insert_ignoring_duplicates(conn: Connection, table):
    """``INSERT ... ON CONFLICT DO NOTHING`` for SQLite and PostgreSQL; plain insert elsewhere."""
    name = conn.dialect.name
    if name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    if name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return insert(table)


def insert_pairs(conn: Connection, items: Iterable[Pair], job_id: int | None = None) -> int:
    """Insert pairs, skipping any (task, source, target) already stored; return how many were new.

    Known scores on a ``Pair`` are stored with it (imports bring their own, for example).
    """
    rows = []
    for p in items:
        row: dict[str, Any] = {
            "task": p.task,
            "pair_key": p.key,
            "source": p.source,
            "target": p.target,
            "context_id": p.context_id,
            "source_sentence_id": p.source_sentence_id,
            "target_sentence_id": p.target_sentence_id,
            "job_id": job_id,
            "origin": p.origin,
            "round": p.round,
            "provenance": p.provenance or None,
        }
        for col in SCORE_COLUMNS:
            row[col] = p.scores.get(col)
        rows.append(row)
    if not rows:
        return 0
    # RETURNING counts the rows really inserted on every backend (executemany rowcount is -1 on psycopg)
    statement = insert_ignoring_duplicates(conn, pairs).returning(pairs.c.id)
    return len(conn.execute(statement, rows).all())


def count_pairs(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(pairs)).scalar_one()


def dataset_counts(engine: Engine) -> dict[str, int]:
    """How many contexts, sentences and pairs the database holds."""
    with engine.connect() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in (("contexts", contexts), ("sentences", sentences), ("pairs", pairs))
        }


def pairs_by_id(engine: Engine, ids: Sequence[int]) -> list[dict[str, Any]]:
    """Full pair rows for ``ids``, in the order given (chunked to stay under parameter limits)."""
    out: dict[int, dict[str, Any]] = {}
    with engine.connect() as conn:
        for start in range(0, len(ids), 500):
            chunk = [int(i) for i in ids[start : start + 500]]
            for row in conn.execute(select(pairs).where(pairs.c.id.in_(chunk))).mappings():
                out[row["id"]] = dict(row)
    return [out[int(i)] for i in ids if int(i) in out]


def generation_stats(engine: Engine, job_id: int, since: Any = None) -> dict[str, Any]:
    """A generate job's sentences: how many, how many in contexts committed at or after ``since`` (the
    job's latest start, for its current rate), and the decoding backend recorded on its first sentence."""
    from db.schema import contexts, sentences

    committed = select(func.count()).select_from(
        sentences.join(contexts, sentences.c.context_id == contexts.c.id)
    )
    committed = committed.where(contexts.c.job_id == job_id)
    with engine.connect() as conn:
        total = conn.execute(committed).scalar_one()
        recent = (
            conn.execute(committed.where(contexts.c.generated_at >= since)).scalar_one() if since else total
        )
        sampling = conn.execute(
            select(sentences.c.sampling).where(sentences.c.job_id == job_id).order_by(sentences.c.id).limit(1)
        ).scalar()
    backend = sampling.get("backend") if isinstance(sampling, dict) else None
    return {"sentences": total, "since": recent, "backend": backend}
