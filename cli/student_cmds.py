"""Student verbs: ``train``, ``evaluate``, ``distill``, ``runs``.

``train``, ``evaluate`` and ``distill`` queue a durable job and, unless ``--background`` is given, run it
in this process (Ctrl-C keeps its checkpoints / committed batches; ``impossible resume JOB`` continues).
With ``--background`` a worker (``impossible worker`` or the studio) picks it up.
"""

from __future__ import annotations

import argparse
from typing import Any

from cli import add_db_argument
from cli.executor_args import add_executor_arguments, check_ray_reachable, executor_params
from cli.submit import exit_code, given, submit
from db import connect, runs
from db import jobs as job_rows
from models.availability import check_model
from pipeline import runner
from pipeline.distill_job import validate_params
from pipeline.evaluate_job import TABLE_METRICS, format_metric
from pipeline.params import (
    DISTILL,
    EVALUATE,
    TRAIN,
    add_flags,
    check,
    evaluate_command,
    params_from_args,
    train_command,
)

SYSTEM_ORDER = ("student", "untrained", "copy_input")
__all__ = ["evaluate_command", "train_command"]  # the commands the studio previews: ``pipeline.params``


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train", help="fine-tune a student on a saved version")
    add_db_argument(p)
    add_flags(p, TRAIN)
    p.add_argument("--background", action="store_true", help="only queue the job for a worker")
    p.set_defaults(handler=cmd_train)

    p = subparsers.add_parser("evaluate", help="score a trained student and the copy-input baseline")
    add_db_argument(p)
    add_flags(p, EVALUATE)
    p.add_argument("--background", action="store_true", help="only queue the job for a worker")
    p.set_defaults(handler=cmd_evaluate)

    p = subparsers.add_parser("distill", help="one self-distillation round: the student proposes new pairs")
    add_db_argument(p)
    add_flags(p, DISTILL)
    add_executor_arguments(p)
    p.add_argument("--background", action="store_true", help="only queue the jobs for a worker")
    p.set_defaults(handler=cmd_distill)

    p = subparsers.add_parser("runs", help="training runs, newest first, one per line (id first)")
    add_db_argument(p)
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(handler=cmd_runs)


def cmd_train(args: argparse.Namespace) -> int:
    engine = connect(args.db)
    params = params_from_args(args, TRAIN)
    check(TRAIN, given(params), "train")  # a bad value is refused before anything is queued
    check_model("student", args.student)
    job_id, status = submit(engine, args.db, "train", given(params), background=args.background)
    if status == "done":
        run = runs.run_for_job(engine, job_id)
        print(f"run {run['id']} done: model in {run['config'].get('final_dir')}")
    return exit_code(status)


def evaluation_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table, one line per evaluation row (student and copy-input side by side)."""
    header = f"{'system':<12} {'rows':>5} " + " ".join(f"{label:>11}" for _, label in TABLE_METRICS)
    lines = [header]
    for row in rows:
        cells = " ".join(f"{format_metric(row['metrics'], key):>11}" for key, _ in TABLE_METRICS)
        lines.append(f"{row['system']:<12} {row['rows']:>5} {cells}")
    return "\n".join(lines)


def cmd_evaluate(args: argparse.Namespace) -> int:
    engine = connect(args.db)
    params = params_from_args(args, EVALUATE)
    check(EVALUATE, given(params), "evaluate")  # a bad value is refused before anything is queued
    check_model("embedder", args.embedder)
    job_id, status = submit(engine, args.db, "evaluate", given(params), background=args.background)
    if status == "done":
        rows = sorted(runs.evaluations_for_job(engine, job_id), key=lambda r: SYSTEM_ORDER.index(r["system"]))
        print(f"run {args.run} on {rows[0]['benchmark']} (alpha {args.alpha}):")
        print(evaluation_table(rows))
        print("* BERTScore-style F1 with the local embedder; not comparable with published BERTScore.")
    return exit_code(status)


def cmd_distill(args: argparse.Namespace) -> int:
    engine = connect(args.db)
    params = given({**params_from_args(args, DISTILL), **executor_params(args)})
    validate_params(params)  # a bad value is refused before anything is queued
    if not args.background:
        check_ray_reachable(params)
    check_model("nli", args.nli)
    job_id, status = submit(engine, args.db, "distill", params, background=args.background)
    if status != "done":
        return exit_code(status)
    print(f"distill job {job_id}: {runs.count_job_pairs(engine, job_id)} student pairs added")
    if params.get("score") is not False:  # the score job the distill job queued
        queued = [j for j in job_rows.recent(engine, 20)
                  if j["kind"] == "score" and j["status"] == "queued" and j["id"] > job_id]  # fmt: skip
        for job in queued:
            runner.run_job(engine, job["id"])
            print(f"score job {job['id']}: {job_rows.get(engine, job['id'])['status']}")
    return 0


def format_run(row: dict[str, Any]) -> str:
    total = row["config"].get("total_steps") or row.get("progress_total") or "?"
    return (
        f"{row['id']:>4}  {row['status']:<9} version={row['version']} student={row['student']} "
        f"steps={row['last_step'] or 0}/{total} recipe={row['recipe_hash']} dir={row['output_dir']}"
    )


def cmd_runs(args: argparse.Namespace) -> int:
    engine = connect(args.db)
    for row in runs.list_runs(engine, args.limit):
        print(format_run(row))
    return 0
