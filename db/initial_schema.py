"""The schema migration ``0001_initial_schema`` creates: the tables of the first release, frozen.

Never edit this file. ``db.schema`` is today's schema; every change made to it since the first release is
a later migration in ``db.migrations`` (``0002_pairs_score_error`` onwards), which a fresh database runs
like any other, so a new database and one made by an older release end up with the same schema.
Only what reaches the DDL is here (no Python-side defaults: nothing writes through these tables).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)

#: The score columns of the first release (``learned`` and ``ted`` came with migrations 0005 and 0007).
INITIAL_SCORE_COLUMNS = (
    "length_ratio",
    "rouge_l",
    "numbers_ok",
    "embed_cosine",
    "nli_forward",
    "nli_backward",
)


def initial_metadata() -> MetaData:
    """A fresh ``MetaData`` holding the first release's tables, indexes and constraints."""
    metadata = MetaData()
    Table(
        "jobs",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("kind", String(32), nullable=False),
        Column("params", JSON, nullable=False),
        Column("status", String(16), nullable=False),
        Column("progress_done", Integer, nullable=False),
        Column("progress_total", Integer, nullable=False),
        Column("error", Text),
        Column("log", Text, nullable=False),
        Column("worker", String(64)),
        Column("heartbeat_at", DateTime),
        Column("created_at", DateTime, nullable=False, server_default=func.now()),
        Column("started_at", DateTime),
        Column("finished_at", DateTime),
        Index("ix_jobs_status", "status"),
    )
    Table(
        "contexts",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("job_id", Integer, ForeignKey("jobs.id")),
        Column("seq", Integer, nullable=False),
        Column("text", Text, nullable=False),
        Column("origin", String(16), nullable=False),
        Column("prefix", Text),
        Column("round", Integer, nullable=False),
        Column("generated_at", DateTime),
        UniqueConstraint("job_id", "seq", name="uq_contexts_job_seq"),
    )
    Table(
        "sentences",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("context_id", Integer, ForeignKey("contexts.id"), nullable=False),
        Column("job_id", Integer, ForeignKey("jobs.id")),
        Column("sample_index", Integer, nullable=False),
        Column("text", Text, nullable=False),
        Column("model", Text, nullable=False),
        Column("sampling", JSON, nullable=False),
        Column("seed", Integer),
        Column("round", Integer, nullable=False),
        UniqueConstraint("context_id", "sample_index", name="uq_sentences_context_sample"),
    )
    Table(
        "pairs",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("task", String(16), nullable=False),
        Column("pair_key", String(40), nullable=False, unique=True),
        Column("source", Text, nullable=False),
        Column("target", Text, nullable=False),
        Column("context_id", Integer, ForeignKey("contexts.id")),
        Column("source_sentence_id", Integer, ForeignKey("sentences.id")),
        Column("target_sentence_id", Integer, ForeignKey("sentences.id")),
        Column("job_id", Integer, ForeignKey("jobs.id")),
        Column("origin", String(16), nullable=False),
        Column("round", Integer, nullable=False),
        Column("provenance", JSON),
        *[Column(name, Float) for name in INITIAL_SCORE_COLUMNS],
        Column("embed_model", Text),
        Column("nli_model", Text),
        Column("dedup_group", Integer),
        *[Index(f"ix_pairs_{name}", name) for name in INITIAL_SCORE_COLUMNS],
        Index("ix_pairs_context", "context_id"),
        Index("ix_pairs_dedup_group", "dedup_group"),
    )
    Table(
        "labels",
        metadata,
        Column("pair_id", Integer, ForeignKey("pairs.id"), primary_key=True),
        Column("decision", String(8), nullable=False),
        Column("note", Text, nullable=False),
        Column("queue", String(16)),
        Column("labelled_at", DateTime, nullable=False, server_default=func.now()),
    )
    Table(
        "versions",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("name", String(128), nullable=False, unique=True),
        Column("recipe", JSON, nullable=False),
        Column("recipe_hash", String(64), nullable=False),
        Column("pair_count", Integer, nullable=False),
        Column("created_at", DateTime, nullable=False, server_default=func.now()),
    )
    Table(
        "version_pairs",
        metadata,
        Column("version_id", Integer, ForeignKey("versions.id"), primary_key=True),
        Column("pair_id", Integer, ForeignKey("pairs.id"), primary_key=True),
    )
    Table(
        "training_runs",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("job_id", Integer, ForeignKey("jobs.id")),
        Column("version_id", Integer, ForeignKey("versions.id"), nullable=False),
        Column("recipe_hash", String(64), nullable=False),
        Column("student", Text, nullable=False),
        Column("config", JSON, nullable=False),
        Column("output_dir", Text, nullable=False),
        Column("status", String(16), nullable=False),
        Column("created_at", DateTime, nullable=False, server_default=func.now()),
    )
    Table(
        "training_log",
        metadata,
        Column("run_id", Integer, ForeignKey("training_runs.id"), primary_key=True),
        Column("step", Integer, primary_key=True),
        Column("train_loss", Float),
        Column("eval_loss", Float),
        Column("logged_at", DateTime, nullable=False, server_default=func.now()),
    )
    Table(
        "evaluations",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("run_id", Integer, ForeignKey("training_runs.id")),
        Column("system", String(32), nullable=False),
        Column("benchmark", Text, nullable=False),
        Column("rows", Integer, nullable=False),
        Column("metrics", JSON, nullable=False),
        Column("examples", JSON),
        Column("created_at", DateTime, nullable=False, server_default=func.now()),
    )
    return metadata
