"""Small named queries for training runs, their loss log and evaluations. Each returns plain data."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from db.jobs import now
from db.schema import evaluations, pairs, training_log, training_runs, version_pairs


# ---- version contents -------------------------------------------------------------------------
def version_training_pairs(engine: Engine, version_id: int) -> list[tuple[str, str]]:
    """(source, target) of every pair in a version, in pair-id order."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(pairs.c.source, pairs.c.target)
            .join(version_pairs, version_pairs.c.pair_id == pairs.c.id)
            .where(version_pairs.c.version_id == version_id)
            .order_by(pairs.c.id)
        ).all()
    return [(r.source, r.target) for r in rows]


def version_round(engine: Engine, version_id: int) -> int:
    """The highest self-distillation round among a version's pairs (0 for teacher-only data)."""
    with engine.connect() as conn:
        value = conn.execute(
            select(func.max(pairs.c.round))
            .join(version_pairs, version_pairs.c.pair_id == pairs.c.id)
            .where(version_pairs.c.version_id == version_id)
        ).scalar()
    return int(value or 0)


def version_sources(engine: Engine, version_id: int) -> set[str]:
    """Every source sentence of a version (so self-distillation can pick fresh ones)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(pairs.c.source)
            .join(version_pairs, version_pairs.c.pair_id == pairs.c.id)
            .where(version_pairs.c.version_id == version_id)
        ).scalars()
        return set(rows)


def count_job_pairs(engine: Engine, job_id: int) -> int:
    """How many pairs a job inserted (a distill job's student proposals, for example)."""
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(pairs).where(pairs.c.job_id == job_id)
        ).scalar_one()


# ---- runs -------------------------------------------------------------------------------------
def create_run(
    engine: Engine,
    *,
    job_id: int | None,
    version_id: int,
    recipe_hash: str,
    student: str,
    config: dict[str, Any],
    output_dir: str,
) -> int:
    with engine.begin() as conn:
        return conn.execute(
            insert(training_runs).values(
                job_id=job_id,
                version_id=version_id,
                recipe_hash=recipe_hash,
                student=student,
                config=config,
                output_dir=output_dir,
                status="queued",
                created_at=now(),
            )
        ).inserted_primary_key[0]


def run_for_job(engine: Engine, job_id: int) -> dict[str, Any] | None:
    """The training run a train job created (None before it has created one)."""
    with engine.connect() as conn:
        row = conn.execute(select(training_runs).where(training_runs.c.job_id == job_id)).mappings().first()
    return dict(row) if row else None


def get_run(engine: Engine, run_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(training_runs).where(training_runs.c.id == run_id)).mappings().first()
    return dict(row) if row else None


def list_runs(engine: Engine, limit: int = 200) -> list[dict[str, Any]]:
    """Runs newest first, each with its version name, last logged step/losses and job status."""
    from db.schema import jobs, versions

    last = (
        select(training_log.c.run_id, func.max(training_log.c.step).label("last_step"))
        .group_by(training_log.c.run_id)
        .subquery()
    )
    query = (
        select(
            training_runs,
            versions.c.name.label("version"),
            jobs.c.status.label("job_status"),
            jobs.c.progress_done,
            jobs.c.progress_total,
            last.c.last_step,
        )
        .join(versions, versions.c.id == training_runs.c.version_id)
        .outerjoin(jobs, jobs.c.id == training_runs.c.job_id)
        .outerjoin(last, last.c.run_id == training_runs.c.id)
        .order_by(training_runs.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def set_run_status(
    engine: Engine,
    run_id: int,
    status: str,
    *,
    config: dict[str, Any] | None = None,
    output_dir: str | None = None,
) -> None:
    """Update a run's status (queued | running | done | failed | cancelled) and optionally its config/folder."""
    values: dict[str, Any] = {"status": status}
    if config is not None:
        values["config"] = config
    if output_dir is not None:
        values["output_dir"] = output_dir
    with engine.begin() as conn:
        conn.execute(update(training_runs).where(training_runs.c.id == run_id).values(**values))


# ---- loss log ---------------------------------------------------------------------------------
def log_step(
    conn: Connection, run_id: int, step: int, train_loss: float | None, eval_loss: float | None
) -> None:
    """Record one step's losses inside the caller's transaction (replacing a row from before a resume)."""
    conn.execute(delete(training_log).where(training_log.c.run_id == run_id, training_log.c.step == step))
    conn.execute(
        insert(training_log).values(
            run_id=run_id, step=step, train_loss=train_loss, eval_loss=eval_loss, logged_at=now()
        )
    )


def forget_steps_after(engine: Engine, run_id: int, step: int) -> int:
    """Drop log rows past ``step`` (a resumed run redoes them from its checkpoint); return how many."""
    with engine.begin() as conn:
        return conn.execute(
            delete(training_log).where(training_log.c.run_id == run_id, training_log.c.step > step)
        ).rowcount


def run_log(engine: Engine, run_id: int) -> list[dict[str, Any]]:
    """Every logged step of a run in order: step, train_loss, eval_loss, logged_at."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                training_log.c.step,
                training_log.c.train_loss,
                training_log.c.eval_loss,
                training_log.c.logged_at,
            )
            .where(training_log.c.run_id == run_id)
            .order_by(training_log.c.step)
        ).mappings()
        return [dict(r) for r in rows]


# ---- evaluations ------------------------------------------------------------------------------
def insert_evaluation(
    conn: Connection,
    *,
    run_id: int | None,
    system: str,
    benchmark: str,
    rows: int,
    metrics: dict[str, Any],
    examples: list[dict[str, Any]] | None,
) -> int:
    return conn.execute(
        insert(evaluations).values(
            run_id=run_id,
            system=system,
            benchmark=benchmark,
            rows=rows,
            metrics=metrics,
            examples=examples,
            created_at=now(),
        )
    ).inserted_primary_key[0]


def evaluations_for_job(engine: Engine, job_id: int) -> list[dict[str, Any]]:
    """Evaluation rows an evaluate job already wrote (its id is kept in ``metrics['job_id']``)."""
    return [e for e in list_evaluations(engine, with_examples=False) if e["metrics"].get("job_id") == job_id]


def list_evaluations(
    engine: Engine, run_id: int | None = None, *, with_examples: bool = False
) -> list[dict[str, Any]]:
    """Evaluation rows newest first (optionally one run's, with or without per-example outputs)."""
    columns = [c for c in evaluations.c if with_examples or c.name != "examples"]
    query = select(*columns).order_by(evaluations.c.id.desc())
    if run_id is not None:
        query = query.where(evaluations.c.run_id == run_id)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def get_evaluation(engine: Engine, evaluation_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(evaluations).where(evaluations.c.id == evaluation_id)).mappings().first()
    return dict(row) if row else None
