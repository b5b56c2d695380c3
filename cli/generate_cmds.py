"""``impossible generate``: sample contexts, k first sentences per context, and candidate pairs."""

from __future__ import annotations

import argparse

from cli import add_db_argument
from cli.executor_args import add_executor_arguments, check_ray_reachable, executor_params
from cli.submit import exit_code, submit
from db import jobs as job_rows
from pipeline.params import GENERATE, add_flags, params_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "generate",
        help="generate candidate pairs: contexts -> k first sentences each -> pairs within a context",
        description=(
            "Sample contexts from the teacher (or read them from --corpus), sample k continuations per "
            "context stopped at their first sentence, and store every pair of distinct sentences. Runs in "
            "this process by default; --background only queues it for `impossible worker`."
        ),
    )
    add_db_argument(p)
    add_flags(p, GENERATE)
    add_executor_arguments(p)
    p.add_argument("--background", action="store_true", help="only queue the job for `impossible worker`")
    p.set_defaults(handler=cmd_generate)


def cmd_generate(args: argparse.Namespace) -> int:
    from db import connect
    from models.availability import check_model
    from pipeline.generate_params import validate_submission

    # the corpus is read before anything is queued
    params = validate_submission({**params_from_args(args, GENERATE), **executor_params(args)})
    check_model("teacher", params["teacher"])
    if not args.background:
        check_ray_reachable(params)
    engine = connect(args.db)
    job_id, status = submit(engine, args.db, "generate", params, background=args.background)
    if status == "done":
        row = job_rows.get(engine, job_id)
        print(f"job {job_id}: done ({row['progress_done']}/{row['progress_total']} contexts)")
    return exit_code(status)
