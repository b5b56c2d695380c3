"""The database schema: every table the studio uses, as SQLAlchemy Core tables.

Scores are columns on ``pairs`` (NULL = not computed yet, or skipped by the cheap pre-gate), so a
threshold is a ``WHERE`` clause and moving it never reruns a model.
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

metadata = MetaData()

#: Facts about this database itself; ``database_id`` (a random hex string written once, by migration
#: ``0003_database_identity``) tells two databases apart, e.g. in the default training-run folder.
studio_meta = Table(
    "studio_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

#: Every score column on ``pairs``, in the order critics run (cheap first).
SCORE_COLUMNS: tuple[str, ...] = (
    "length_ratio",  # len(target) / len(source), in characters
    "rouge_l",  # ROUGE-L F1 between source and target (lower = more rewording)
    "numbers_ok",  # 1.0 when every number in the target appears in the source, else 0.0
    "embed_cosine",  # cosine similarity of sentence embeddings
    "nli_forward",  # p(source entails target)
    "nli_backward",  # p(target entails source)
    "learned",  # p(accept) from a critic trained on human labels (``impossible critic train``)
    "ted",  # tree edit distance between the source's and the target's full constituency trees (TED-F)
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(32), nullable=False),  # generate | score | train | evaluate | distill
    Column("params", JSON, nullable=False),
    # queued -> running -> done | failed | cancelled ; cancel_requested while running
    Column("status", String(16), nullable=False, default="queued"),
    Column("progress_done", Integer, nullable=False, default=0),
    Column("progress_total", Integer, nullable=False, default=0),
    # what the job is doing now, in units that move every few seconds (``pipeline.progress``):
    # {"name", "unit", "done", "total", "since" (ISO time the phase began), "from" (done when it began)}
    Column("phase", JSON),
    Column("error", Text),
    Column("log", Text, nullable=False, default=""),
    Column("worker", String(64)),  # host:pid of the process running it
    Column("parent_id", Integer),  # the loop job that queued this one as a stage (``pipeline.loop_job``)
    Column("heartbeat_at", DateTime),
    Column("created_at", DateTime, nullable=False, server_default=func.now()),
    Column("started_at", DateTime),
    Column("finished_at", DateTime),
    Index("ix_jobs_status", "status"),
)

contexts = Table(
    "contexts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job_id", Integer, ForeignKey("jobs.id")),
    Column("seq", Integer, nullable=False),  # position within its job; (job_id, seq) makes resume idempotent
    Column("text", Text, nullable=False),
    Column("origin", String(16), nullable=False),  # teacher | corpus | student
    Column("prefix", Text),  # the domain prefix it was sampled from, if any
    Column("round", Integer, nullable=False, default=0),
    # set when its candidate sentences (and pairs) are committed
    Column("generated_at", DateTime),
    UniqueConstraint("job_id", "seq", name="uq_contexts_job_seq"),
)

sentences = Table(
    "sentences",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("context_id", Integer, ForeignKey("contexts.id"), nullable=False),
    Column("job_id", Integer, ForeignKey("jobs.id")),
    Column("sample_index", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column(
        "sampling", JSON, nullable=False
    ),  # temperature, top_p, top_k, no_repeat_ngram_size, max_new_tokens
    Column("seed", Integer),
    Column("round", Integer, nullable=False, default=0),
    UniqueConstraint("context_id", "sample_index", name="uq_sentences_context_sample"),
)

pairs = Table(
    "pairs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("task", String(16), nullable=False),  # paraphrase | summary
    # sha1 of task, source and target: one row per distinct pair (portable across databases,
    # unlike a unique index over long text columns)
    Column("pair_key", String(40), nullable=False, unique=True),
    Column("source", Text, nullable=False),
    Column("target", Text, nullable=False),
    Column("context_id", Integer, ForeignKey("contexts.id")),
    Column("source_sentence_id", Integer, ForeignKey("sentences.id")),
    Column("target_sentence_id", Integer, ForeignKey("sentences.id")),
    Column("job_id", Integer, ForeignKey("jobs.id")),
    Column("origin", String(16), nullable=False),  # generated | imported | student
    Column("round", Integer, nullable=False, default=0),
    Column("provenance", JSON),  # teacher, sampling parameters, seed, import file, ...
    *[Column(name, Float) for name in SCORE_COLUMNS],
    # which models produced the semantic scores (for provenance in exports)
    Column("embed_model", Text),
    Column("nli_model", Text),
    Column("learned_model", Text),  # which learned critic (folder and training-set hash) wrote ``learned``
    # equivalence cluster used by dedup: pairs in the same group say the same thing
    Column("dedup_group", Integer),
    # why scoring gave up on this pair (e.g. an empty source); such a pair is not retried
    Column("score_error", Text),
    # why ``ted`` is missing: the parser rejected the source or the target (their parses say why)
    Column("ted_error", Text),
    *[Index(f"ix_pairs_{name}", name) for name in SCORE_COLUMNS],
    Index("ix_pairs_context", "context_id"),
    Index("ix_pairs_dedup_group", "dedup_group"),
)

parses = Table(
    "parses",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("parser", String(64), nullable=False),  # e.g. link-grammar: parses of two parsers never mix
    # sha1 of the sentence text: a sentence is parsed once, whichever pairs, jobs or imports it is in
    Column("text_key", String(40), nullable=False),
    Column("text", Text, nullable=False),
    Column("tree", Text),  # bracketed constituency tree, leaves are word classes (models.trees)
    Column("error", Text),  # why the parser rejected the sentence (tree is then NULL)
    Column("created_at", DateTime, nullable=False, server_default=func.now()),
    UniqueConstraint("parser", "text_key", name="uq_parses_parser_text"),
)

labels = Table(
    "labels",
    metadata,
    Column("pair_id", Integer, ForeignKey("pairs.id"), primary_key=True),
    Column("decision", String(8), nullable=False),  # accept | reject
    Column("note", Text, nullable=False, default=""),
    Column("queue", String(16)),  # random | boundary | manual: how the pair reached the reviewer
    Column("labelled_at", DateTime, nullable=False, server_default=func.now()),
)

versions = Table(
    "versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("recipe", JSON, nullable=False),
    Column("recipe_hash", String(64), nullable=False),
    Column("pair_count", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False, server_default=func.now()),
)

version_pairs = Table(
    "version_pairs",
    metadata,
    Column("version_id", Integer, ForeignKey("versions.id"), primary_key=True),
    Column("pair_id", Integer, ForeignKey("pairs.id"), primary_key=True),
)

version_reports = Table(
    "version_reports",
    metadata,
    Column("version_id", Integer, ForeignKey("versions.id"), primary_key=True),
    Column("report", JSON, nullable=False),  # curation.report.dataset_report, computed once per version
    Column("created_at", DateTime, nullable=False, server_default=func.now()),
)

training_runs = Table(
    "training_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job_id", Integer, ForeignKey("jobs.id")),
    Column("version_id", Integer, ForeignKey("versions.id"), nullable=False),
    Column("recipe_hash", String(64), nullable=False),
    Column("student", Text, nullable=False),
    Column("config", JSON, nullable=False),  # the resolved training configuration
    Column("output_dir", Text, nullable=False),
    Column("status", String(16), nullable=False, default="queued"),
    Column("created_at", DateTime, nullable=False, server_default=func.now()),
)

training_log = Table(
    "training_log",
    metadata,
    Column("run_id", Integer, ForeignKey("training_runs.id"), primary_key=True),
    Column("step", Integer, primary_key=True),
    Column("train_loss", Float),
    Column("eval_loss", Float),
    Column("logged_at", DateTime, nullable=False, server_default=func.now()),
)

evaluations = Table(
    "evaluations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("training_runs.id")),  # NULL = copy-input baseline
    Column("system", String(32), nullable=False),  # student | copy_input
    Column("benchmark", Text, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("metrics", JSON, nullable=False),
    Column("examples", JSON),  # per-example source, reference, output, scores
    Column("created_at", DateTime, nullable=False, server_default=func.now()),
)
