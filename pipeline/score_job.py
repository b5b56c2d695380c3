"""The score job: every critic on every pair that still needs it, cheapest first, then dedup groups.

Parameters (``jobs.params``; every key optional):

================  ==========  ==============================================================================
key               default     meaning
================  ==========  ==============================================================================
nli               null        NLI model (hub id or folder); null = no NLI, the semantic critic is embed_cosine
embedder          "embedded"  sentence embedder: "embedded" (all-MiniLM-L6-v2), a hub id / folder, or null
gate              {}          ``{"min": {col: v}, "max": {col: v}}`` overrides of the pre-gate
                              (``pipeline.critics.gate``); a value of null switches that check off
batch_size        512         pairs per committed batch
device            "auto"      "cpu", "cuda", "cuda:1", ... ("auto" = CUDA when present)
dedup_threshold   0.75        mutual score at which two sentences count as the same (``critics.dedup``)
critic            null        a learned critic's folder (``impossible critic train``): fills ``learned``
parser            "auto"      constituency parser for ``ted``: "link-grammar", "auto" (link-grammar when
                              installed, else no ted), or null (``critics.syntax``)
executor          "local"     "local" or "ray": the cheap, embedding and NLI stages run on Ray actors
ray_address       null        the Ray cluster (``pipeline.executor``)
ray_workers       0           actors per stage; 0 = one per GPU, else one per CPU of the cluster
================  ==========  ==============================================================================

Stages: (1) length ratio, ROUGE-L and numbers on every pair missing one; (2) embedding cosine on the
pairs whose cheap scores pass the gate; (3) ``ted`` (tree edit distance of the two parses; each sentence
parsed once) on the paraphrase pairs whose cheap scores and embedding cosine pass the gate; (4) NLI on the
pairs whose cheap scores and embedding cosine pass the gate; (5) dedup groups over the whole database. Work is whatever score column is NULL, read in
id order, and each batch's scores commit with the job's progress in one transaction: a stored score is
never recomputed (the UPDATE even keeps a value that appeared meanwhile), and a killed job resumes
where it stopped. A pair a critic cannot score (an empty sentence) gets ``score_error`` and the job goes
on; ``nli_model`` / ``embed_model`` record which model produced each row's semantic scores.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Engine, and_, bindparam, func, select, update

from db.schema import pairs
from models.loading import EMBEDDED, ModelLoadError
from models.parser import PARSERS, ParserLoadError
from pipeline.critics import dedup, lexical, semantic, syntax
from pipeline.critics.gate import Gate, cheap_pending, embedding_pending, nli_pending, ted_pending
from pipeline.executor import DEFAULTS as EXECUTOR_DEFAULTS
from pipeline.executor import validate_executor
from pipeline.runner import JobContext, UserError, require_models

LOG_EVERY_S = 30.0
Row = dict[str, Any]
Scorer = Callable[[list[Row]], list[Row]]


@dataclass(frozen=True)
class ScoreSettings:
    """The job's parameters, validated."""

    nli: str | None = None
    embedder: str | None = EMBEDDED
    gate: Gate = field(default_factory=Gate.from_params)
    batch_size: int = 512
    device: str = "auto"
    dedup_threshold: float = dedup.DEFAULT_DEDUP_THRESHOLD
    critic: str | None = None
    parser: str | None = syntax.AUTO
    executor: str = "local"
    ray_address: str | None = None
    ray_workers: int = 0

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> ScoreSettings:
        """Raise ``UserError`` naming the first bad parameter."""
        known = {"nli", "embedder", "gate", "batch_size", "device", "dedup_threshold", "critic", "parser"}
        known |= set(EXECUTOR_DEFAULTS)
        unknown = set(params) - known
        if unknown:
            raise UserError(f"Unknown score parameter(s): {', '.join(sorted(unknown))}.")
        try:
            gate = Gate.from_params(params.get("gate"))
        except ValueError as exc:
            raise UserError(f"Bad pre-gate: {exc}") from exc
        batch_size = params.get("batch_size", 512)
        if not isinstance(batch_size, int) or batch_size < 1:
            raise UserError(f"batch_size must be a positive whole number, not {batch_size!r}.")
        threshold = params.get("dedup_threshold", dedup.DEFAULT_DEDUP_THRESHOLD)
        if not isinstance(threshold, (int, float)) or not 0.0 <= threshold <= 1.0:
            raise UserError(f"dedup_threshold must be a number in [0, 1], not {threshold!r}.")

        def model(key: str, default: str | None) -> str | None:
            value = params.get(key, default)
            return None if value is None or str(value).strip().lower() in ("", "none") else str(value)

        parser = model("parser", syntax.AUTO)
        if parser not in (None, syntax.AUTO, *PARSERS):
            raise UserError(f"Unknown parser {parser!r}; use {', '.join(PARSERS)}, auto or none.")
        return cls(
            **validate_executor(params),
            nli=model("nli", None),
            embedder=model("embedder", EMBEDDED),
            gate=gate,
            batch_size=batch_size,
            device=str(params.get("device") or "auto"),
            dedup_threshold=float(threshold),
            critic=model("critic", None),
            parser=parser,
        )


# ---- reading and writing batches ----------------------------------------------------------------


def count_where(engine: Engine, predicate: ColumnElement[bool]) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(pairs).where(predicate)).scalar_one()


def read_batch(engine: Engine, predicate: ColumnElement[bool], after_id: int, limit: int) -> list[Row]:
    """The next ``limit`` pending pairs after ``after_id`` (id order, so a batch is never re-read)."""
    columns = [pairs.c.id, pairs.c.task, pairs.c.source, pairs.c.target]
    columns += [pairs.c[c] for c in (*lexical.CHEAP_COLUMNS, "nli_forward", "nli_backward")]
    query = select(*columns).where(predicate, pairs.c.id > after_id).order_by(pairs.c.id).limit(limit)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def score_update(columns: tuple[str, ...]):
    """``UPDATE pairs`` by id that fills only NULL cells (a stored score is never replaced)."""
    fill = [*columns, "score_error"]
    return (
        update(pairs)
        .where(pairs.c.id == bindparam("pair_id"))
        .values({c: func.coalesce(pairs.c[c], bindparam(f"new_{c}")) for c in fill})
    )


def as_update_rows(results: list[Row], columns: tuple[str, ...]) -> list[Row]:
    """``{"pair_id", "new_<col>"...}`` with every key present (executemany needs uniform rows)."""
    keys = [*columns, "score_error"]
    return [{"pair_id": r["id"], **{f"new_{k}": r.get(k) for k in keys}} for r in results]


def isolate_row_errors(scorer: Scorer, rows: list[Row]) -> list[Row]:
    """Score a batch; if it raises, score row by row and record each failing row's error.

    When every row fails alone as well, the failure is not about the rows (a broken model, memory):
    the first error is raised so the job fails and can be resumed, instead of marking good pairs.
    """
    try:
        return scorer(rows)
    except Exception as batch_error:
        results, failures = [], 0
        for row in rows:
            try:
                results.extend(scorer([row]))
            except Exception as exc:
                failures += 1
                results.append({"id": row["id"], "score_error": f"{type(exc).__name__}: {exc}"[:500]})
        if failures == len(rows):
            raise batch_error
        return results


# ---- the three scoring stages -------------------------------------------------------------------


def score_cheap(rows: list[Row]) -> list[Row]:
    """Length ratio, ROUGE-L and numbers for the cells still NULL; a ``CriticError`` marks the row."""
    out = []
    for row in rows:
        missing = tuple(c for c in lexical.CHEAP_COLUMNS if row[c] is None)
        try:
            out.append(
                {"id": row["id"], **lexical.cheap_scores(row["source"], row["target"], row["task"], missing)}
            )
        except lexical.CriticError as exc:
            out.append({"id": row["id"], "score_error": str(exc)})
    return out


def embedding_scorer(embedder, model_batch: int) -> Scorer:
    def score(rows: list[Row]) -> list[Row]:
        cosine = semantic.embedding_cosine(
            embedder, [r["source"] for r in rows], [r["target"] for r in rows], batch_size=model_batch
        )
        return [
            {"id": r["id"], "embed_cosine": float(c), "embed_model": embedder.name}
            for r, c in zip(rows, cosine, strict=True)
        ]

    return score


def nli_scorer(scorer, model_batch: int) -> Scorer:
    def score(rows: list[Row]) -> list[Row]:
        forward, backward = semantic.nli_scores(
            scorer,
            [r["source"] for r in rows],
            [r["target"] for r in rows],
            need_forward=[r["nli_forward"] is None for r in rows],
            need_backward=[r["task"] == "paraphrase" and r["nli_backward"] is None for r in rows],
            batch_size=model_batch,
        )
        return [
            {
                "id": r["id"],
                "nli_forward": None if np.isnan(f) else float(f),
                "nli_backward": None if np.isnan(b) else float(b),
                "nli_model": scorer.name,
            }
            for r, f, b in zip(rows, forward, backward, strict=True)
        ]

    return score


@dataclass
class Stage:
    """One critic family: which pairs it needs, what it writes, and how to load its model lazily."""

    name: str
    pending: ColumnElement[bool]
    columns: tuple[str, ...]
    make_scorer: Callable[[], Scorer]
    #: what loading its model is called in the job's phase ("" = nothing to load)
    loads: str = ""
    #: pairs per model call, so the phase's count moves every few seconds (0 = the whole batch); asked
    #: only once the model is loaded (finding the device imports torch)
    chunk: Callable[[], int] = lambda: 0
    #: whether the Ray executor runs it on actors (stateless: its scorer needs no database)
    remote: bool = False


def score_rows(ctx: JobContext, scorer: Scorer, rows: list[Row], chunk: int, handled: int) -> list[Row]:
    """Score one read batch in chunks of ``chunk`` pairs, moving the phase's count after each."""
    results: list[Row] = []
    step = chunk or len(rows)
    for start in range(0, len(rows), step):
        part = rows[start : start + step]
        results += isolate_row_errors(scorer, part)
        ctx.advance(handled + start + len(part))
    return results


def run_stage(ctx: JobContext, stage: Stage, batch_size: int, remaining_later: int, label: str = "") -> int:
    """Score every pending pair of ``stage`` in committed batches; return how many pairs it handled.

    ``label`` (``stage 2 of 4``) prefixes the job's phase; the phase's total is the stage's pending pairs,
    counted once when it starts, so it never changes under the user's eyes."""
    todo = count_where(ctx.engine, stage.pending)
    if todo == 0:
        return 0
    prefix = f"{label}: " if label else ""
    loading = time.monotonic()
    if stage.loads:
        ctx.phase(f"{prefix}loading {stage.loads}")
    scorer = stage.make_scorer()
    if time.monotonic() - loading > 1.0:
        ctx.log(f"{stage.name}: ready after {time.monotonic() - loading:.1f}s (model load)")
    ctx.phase(f"{prefix}{stage.name}", unit="pairs", total=todo)
    chunk = stage.chunk()
    statement = score_update(stage.columns)
    handled, errors, after_id = 0, 0, 0
    started = last_log = time.monotonic()
    while rows := read_batch(ctx.engine, stage.pending, after_id, batch_size):
        after_id = rows[-1]["id"]
        results = score_rows(ctx, scorer, rows, chunk, min(handled, todo))
        handled += len(rows)
        errors += sum(1 for r in results if r.get("score_error"))
        total = ctx.done + len(rows) + max(todo - handled, 0) + remaining_later
        with ctx.batch(done=ctx.done + len(rows), total=total) as conn:
            conn.execute(statement, as_update_rows(results, stage.columns))
        ctx.advance(min(handled, todo))
        if time.monotonic() - last_log >= LOG_EVERY_S:
            rate = handled / (time.monotonic() - started)
            ctx.log(f"{stage.name}: {handled}/{todo} pairs ({rate:.1f}/s)")
            last_log = time.monotonic()
    ctx.log(f"{stage.name}: done, {handled} pair(s) in {time.monotonic() - started:.1f}s")
    if errors:
        ctx.log(f"{stage.name}: {errors} pair(s) could not be scored; pairs.score_error says why")
    return handled


def load_model(loader: str, spec: str, device: str):
    """``models.critics.<loader>(spec, device)``, imported only now (torch and transformers take seconds
    to import, and a job with nothing to embed never needs them); a load failure becomes a UserError."""
    from models import critics

    try:
        return getattr(critics, loader)(spec, device)
    except ModelLoadError as exc:
        raise UserError(str(exc)) from exc


def model_batch_size(device: str) -> int:
    """Sequences per forward pass: 64 keeps a CPU's caches warm; a GPU wants more."""
    from models.device import pick_device

    return 64 if pick_device(device).type == "cpu" else 256


def parser_stage(engine: Engine, settings: ScoreSettings) -> Stage | None:
    """The ``ted`` stage, or None when no parser is configured (``auto`` without link-grammar)."""
    try:
        name = syntax.resolve_parser(settings.parser)
    except ParserLoadError as exc:
        raise UserError(str(exc)) from exc
    if name is None:
        return None

    def make_scorer() -> Scorer:
        try:
            return syntax.ted_scorer(engine, syntax.open_parser(name))
        except ParserLoadError as exc:
            raise UserError(str(exc)) from exc

    return Stage(
        f"ted ({name})",
        ted_pending(settings.gate, with_embeddings=bool(settings.embedder)),
        ("ted", "ted_error"),
        make_scorer,
    )


def build_stages(settings: ScoreSettings, engine: Engine) -> list[Stage]:
    """Cheap critics, then (when configured) the embedder, the parser and NLI — in order of cost."""
    stages = [
        Stage("cheap critics", cheap_pending(), (*lexical.CHEAP_COLUMNS,), lambda: score_cheap, remote=True)
    ]
    if settings.embedder:
        stages.append(
            Stage(
                "embedding cosine",
                embedding_pending(settings.gate),
                ("embed_cosine", "embed_model"),
                lambda: embedding_scorer(
                    load_model("load_embedder", settings.embedder, settings.device),
                    model_batch_size(settings.device),
                ),
                loads="embedder",
                chunk=lambda: model_batch_size(settings.device),
                remote=True,
            )
        )
    ted_stage = parser_stage(engine, settings)
    if ted_stage is not None:
        stages.append(ted_stage)
    if settings.nli:
        stages.append(
            Stage(
                "nli",
                nli_pending(settings.gate, with_embeddings=bool(settings.embedder)),
                ("nli_forward", "nli_backward", "nli_model"),
                lambda: nli_scorer(
                    load_model("load_nli", settings.nli, settings.device), model_batch_size(settings.device)
                ),
                loads="NLI model",
                chunk=lambda: model_batch_size(settings.device),
                remote=True,
            )
        )
    if settings.critic:
        stages.append(learned_stage(settings))
    return stages


def learned_stage(settings: ScoreSettings) -> Stage:
    """The learned critic on the pairs of its task that lack ``learned`` and pass the cheap gate."""
    from models.learned_critic import load_critic
    from pipeline.critics.learned import learned_probabilities

    try:
        critic = load_critic(settings.critic)
    except ModelLoadError as exc:
        raise UserError(str(exc)) from exc
    pending = and_(
        pairs.c.score_error.is_(None),
        pairs.c.learned.is_(None),
        *[pairs.c[c].is_not(None) for c in lexical.CHEAP_COLUMNS],
        settings.gate.task_predicate(critic.task, lexical.CHEAP_COLUMNS),
    )

    def make_scorer() -> Scorer:
        embedder = load_model("load_embedder", critic.embedder, settings.device)
        batch = model_batch_size(settings.device)

        def score(rows: list[Row]) -> list[Row]:
            probabilities = learned_probabilities(critic, embedder, rows, batch)
            return [
                {"id": r["id"], "learned": float(p), "learned_model": critic.name}
                for r, p in zip(rows, probabilities, strict=True)
            ]

        return score

    return Stage("learned critic", pending, ("learned", "learned_model"), make_scorer)


def assign_dedup_groups(ctx: JobContext, threshold: float, chunk: int = 20_000) -> None:
    """Recompute equivalence groups over the whole database and write the ones that changed."""
    ids, groups, group_count = dedup.changed_groups(ctx.engine, threshold)
    statement = update(pairs).where(pairs.c.id == bindparam("pair_id")).values(dedup_group=bindparam("group"))
    for start in range(0, len(ids), chunk):
        rows = [
            {"pair_id": int(i), "group": int(g)}
            for i, g in zip(ids[start : start + chunk], groups[start : start + chunk], strict=True)
        ]
        with ctx.batch() as conn:
            conn.execute(statement, rows)
    ctx.log(f"dedup: {group_count} group(s); {len(ids)} pair(s) changed group")


def check_models(settings: ScoreSettings) -> None:
    """``UserError`` at once when the embedder or NLI model cannot load here (before any pair is scored)."""
    require_models(("embedder", settings.embedder), ("nli", settings.nli))


def run(ctx: JobContext) -> None:
    """Job handler for kind ``score``."""
    settings = ScoreSettings.from_params(ctx.params)
    check_models(settings)
    if not settings.nli:
        ctx.log("no NLI model given: the semantic critic is embedding cosine only (nli_model stays NULL)")
    stages = build_stages(settings, ctx.engine)
    if settings.parser is not None and not any(stage.columns[0] == "ted" for stage in stages):
        ctx.log("no parser installed: ted stays NULL (install Debian's python3-link-grammar for it)")
    count = len(stages) + 1  # the critics, then dedup
    on_ray = None
    if settings.executor == "ray":
        from pipeline.ray_jobs import RayScoring

        on_ray = RayScoring(ctx, settings)
    else:
        ctx.log("executor local: 1 worker (this process)")
    for index, stage in enumerate(stages):
        later = sum(count_where(ctx.engine, s.pending) for s in stages[index + 1 :])
        label = f"stage {index + 1} of {count}"
        if on_ray is not None and stage.remote:
            on_ray.run_stage(stage, later, label)
        else:
            run_stage(ctx, stage, settings.batch_size, later, label=label)
    ctx.phase(f"stage {count} of {count}: grouping duplicates")
    assign_dedup_groups(ctx, settings.dedup_threshold)
    if on_ray is not None:
        on_ray.finish()
