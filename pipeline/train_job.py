"""The ``train`` job: fine-tune a student on a saved version, as a durable, resumable, cancellable job.

Parameters: ``version`` (name or id, required), ``student`` (default ``embedded``), ``output_dir``
(default ``runs/<database>-<database id>-run<run id>`` beside a SQLite file, under the working folder
for other databases), ``syntax`` (true: syntax-controlled, the student reads source + the target's
template, ``pipeline.syntax_control``) and any ``models.train.TrainConfig`` field (epochs, max_steps, lr,
batch_size, lora, eval_fraction, seed, device, checkpoint_every, eval_every, ...).

The job creates one ``training_runs`` row (found again on resume), writes every step's losses to
``training_log`` together with the job's progress (the studio draws the curve from it), and checkpoints
through ``models.train``. Killed, it resumes from the last checkpoint when the worker claims it again;
cancelled, it checkpoints between two steps and stops. Checkpoints carry the run's identity (database id
+ run id), so a folder written by another database's run is refused instead of resumed.
"""

from __future__ import annotations

import dataclasses
import gc
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from db import jobs as job_rows
from db import runs
from db.migrations import database_id
from pipeline.params import TRAIN, check
from pipeline.runner import JobCancelled, JobContext, UserError, require_models

DEFAULT_RUNS_DIR = Path("runs")
LOG_EVERY_STEPS = 10
NOT_CONFIG = ("version", "output_dir", "syntax")


def train_config(params: dict[str, Any], task: str):
    """A ``TrainConfig`` from job parameters: each given value checked against ``pipeline.params.TRAIN``
    (unknown names, kinds, bounds), the rest left to ``TrainConfig``'s defaults; ``UserError`` otherwise."""
    from models.train import TrainConfig

    check(TRAIN, params, "train")
    settings = {k: v for k, v in params.items() if k not in NOT_CONFIG and v is not None}
    config = TrainConfig(**{**settings, "task": task})
    try:
        config.validate()
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    return config


def _load_version(ctx: JobContext) -> tuple[dict[str, Any], str, list[tuple[str, str]]]:
    from curation.versions import VersionError, get_version, version_recipe

    name = ctx.params.get("version")
    if name in (None, ""):
        raise UserError(
            "A training job needs a version (--version NAME); save one on the Versions page first."
        )
    try:
        version = get_version(ctx.engine, name)
    except VersionError as exc:
        raise UserError(str(exc)) from exc
    pairs = runs.version_training_pairs(ctx.engine, version["id"])
    if not pairs:
        raise UserError(
            f"Version {version['name']!r} has no pairs, so there is nothing to train on. Loosen the recipe "
            "(or score the pairs first) and save a new version."
        )
    return version, version_recipe(version).task, pairs


def run_identity(engine: Engine, run_id: int) -> str:
    """What a checkpoint of this run records: the database's identity and the run id."""
    return f"{database_id(engine)}/run-{run_id}"


def database_folder(engine: Engine, name: str) -> Path:
    """``runs/<database>-<id>-<name>``: beside a SQLite file, else under the working folder.

    The database id makes the folder unique even when two databases use the same ``name``.
    """
    database = engine.url.database or "db"
    is_file = engine.url.get_backend_name() == "sqlite" and database not in ("", ":memory:")
    base = Path(database).expanduser().resolve().parent if is_file else Path.cwd()
    return base / DEFAULT_RUNS_DIR / f"{Path(database).stem}-{database_id(engine)[:8]}-{name}"


def default_run_dir(engine: Engine, run_id: int) -> Path:
    """``runs/<database>-<id>-run<run id>`` (``database_folder``)."""
    return database_folder(engine, f"run{run_id}")


def _with_templates(ctx: JobContext, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Syntax-controlled training pairs; a target the parser rejects drops its pair (logged)."""
    from pipeline.syntax_control import open_parser, templated_pairs

    templated, dropped = templated_pairs(ctx.engine, open_parser(), pairs)
    ctx.log(f"syntax-controlled: {len(templated)} pairs with a target template, {dropped} dropped (no parse)")
    if not templated:
        raise UserError("The parser rejected every target of this version, so no pair has a template.")
    return templated


def _run_row(ctx: JobContext, version: dict[str, Any], config, syntax_mode: bool = False) -> dict[str, Any]:
    """This job's run row, created on first start (with its output folder) and found again on resume."""
    row = runs.run_for_job(ctx.engine, ctx.job_id)
    if row is None:
        run_id = runs.create_run(
            ctx.engine,
            job_id=ctx.job_id,
            version_id=version["id"],
            recipe_hash=version["recipe_hash"],
            student=config.student,
            config={**dataclasses.asdict(config), "syntax": syntax_mode},
            output_dir="",
        )
        given = ctx.params.get("output_dir")
        folder = Path(given).expanduser().resolve() if given else default_run_dir(ctx.engine, run_id)
        runs.set_run_status(ctx.engine, run_id, "queued", output_dir=str(folder))
        row = runs.get_run(ctx.engine, run_id)
    return row


def _free_memory() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def run(ctx: JobContext) -> None:
    from models.loading import ModelLoadError
    from models.train import RunMismatch, StepLog, train

    version, task, pairs = _load_version(ctx)
    config = train_config(ctx.params, task)
    syntax_mode = bool(ctx.params.get("syntax"))
    if syntax_mode:
        pairs = _with_templates(ctx, pairs)
    row = _run_row(ctx, version, config, syntax_mode)
    run_id = row["id"]
    runs.set_run_status(ctx.engine, run_id, "running")
    ctx.log(f"run {run_id}: {len(pairs)} pairs of version {version['name']!r}, student {config.student}")
    began = time.monotonic()
    resumed = [0]  # the step this process started from, for the ETA

    def on_start(resumed_from: int) -> None:
        resumed[0] = resumed_from
        ctx.phase("training", unit="steps", done=resumed_from)  # the total comes with the first step
        runs.forget_steps_after(ctx.engine, run_id, resumed_from)
        if resumed_from:
            ctx.log(f"run {run_id}: resuming from checkpoint at step {resumed_from}")

    def on_step(log: StepLog) -> None:
        with ctx.engine.begin() as conn:  # the step's losses and the job's progress commit together
            runs.log_step(conn, run_id, log.step, log.train_loss, log.eval_loss)
            job_rows.heartbeat(conn, ctx.job_id, done=log.step, total=log.total_steps)
        ctx.done, ctx.total = log.step, log.total_steps
        ctx.advance(log.step, total=log.total_steps)
        if log.step == log.total_steps:
            ctx.phase("saving the final model")
        if log.step % LOG_EVERY_STEPS == 0 or log.step == log.total_steps:
            eval_text = f" eval {log.eval_loss:.4f}" if log.eval_loss is not None else ""
            eta = log.elapsed_s / max(1, log.step - resumed[0]) * (log.total_steps - log.step)
            ctx.log(
                f"step {log.step}/{log.total_steps} loss {log.train_loss:.4f}{eval_text} "
                f"lr {log.lr:.2e} {log.tokens_per_s:.0f} tok/s eta {eta:.0f}s"
            )

    def should_stop() -> bool:
        try:
            ctx.check_cancelled()
        except JobCancelled:
            return True
        return False

    try:
        require_models(("student", config.student))
        ctx.phase("loading student")
        result = train(
            config,
            pairs,
            row["output_dir"],
            recipe_hash=version["recipe_hash"],
            on_step=on_step,
            should_stop=should_stop,
            on_start=on_start,
            run_identity=run_identity(ctx.engine, run_id),
        )
    except (ModelLoadError, RunMismatch) as exc:
        runs.set_run_status(ctx.engine, run_id, "failed")
        raise UserError(str(exc)) from exc
    except BaseException:
        runs.set_run_status(ctx.engine, run_id, "failed")
        raise
    finally:
        _free_memory()
    if result.stopped:
        runs.set_run_status(ctx.engine, run_id, "cancelled")
        raise JobCancelled()
    resolved = {**result.resolved, "final_dir": str(result.final_dir), "syntax": syntax_mode}
    runs.set_run_status(ctx.engine, run_id, "done", config=resolved)
    ctx.log(
        f"run {run_id}: finished {result.steps} steps in {time.monotonic() - began:.0f}s -> {result.final_dir}"
    )
