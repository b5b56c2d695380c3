"""``impossible loop``: generate -> score -> [learned critic] -> version -> train -> evaluate in one command.

The loop is one durable job (``pipeline.loop_job``) whose stages are the usual jobs. Run the same command
again (or ``impossible resume LOOP_JOB``) after a kill and it goes on from the stage it stopped in.
"""

from __future__ import annotations

import argparse
from typing import Any

from cli import add_db_argument
from cli.submit import exit_code
from db import connect
from db import jobs as job_rows
from pipeline import runner


def register(subparsers: argparse._SubParsersAction) -> None:
    from pipeline.loop_job import PRESETS

    p = subparsers.add_parser(
        "loop",
        help="the whole method in one command: generate, score, [learned critic], version, train, evaluate",
        description="Run the full loop as one durable job. A killed loop resumes where it stopped when the "
        "same command runs again. The last lines are kept_pairs=, student_ibleu= and copy_ibleu=.",
    )
    add_db_argument(p)
    p.add_argument("--preset", choices=tuple(PRESETS), default="smoke",
                   help="smoke: about 2 minutes on 2 cores; cpu-hour: the README's measured run")  # fmt: skip
    p.add_argument("--task", choices=("paraphrase", "summary"))
    p.add_argument("--corpus", help="real contexts (.txt / .jsonl) instead of teacher-sampled ones")
    p.add_argument("--contexts", type=int, help="contexts to generate from")
    p.add_argument("--samples", type=int, help="k: samples per context")
    p.add_argument("--teacher", help="teacher model (default embedded)")
    p.add_argument(
        "--backend", choices=("auto", "torch", "ctranslate2", "vllm"), help="teacher decoding engine"
    )
    p.add_argument("--embedder", help="embedding critic and metric model (default embedded; 'none' to skip)")
    p.add_argument("--student", help="student model (default embedded)")
    p.add_argument("--seed", type=int)
    p.add_argument("--nli", help="NLI critic model (default none: embedding similarity)")
    p.add_argument("--labels", help="labelled pairs for the learned critic (default: this database's labels)")
    p.add_argument(
        "--labels-format", choices=("jsonl", "mrpc", "sick"), help="format of --labels (default jsonl)"
    )
    p.add_argument("--learned-min", type=float, help="keep pairs with learned >= this (default 0.7)")
    p.add_argument("--min", action="append", default=[], metavar="NAME=VALUE",
                   help="override a threshold of the default recipe; VALUE 'off' drops it")  # fmt: skip
    p.add_argument("--max", action="append", default=[], metavar="NAME=VALUE")
    steps = p.add_mutually_exclusive_group()
    steps.add_argument("--epochs", type=int)
    steps.add_argument("--max-steps", type=int)
    p.add_argument("--benchmark", action="append", default=[], metavar="PATH",
                   help="evaluate on this file (repeatable; format detected); default: held-out pairs")  # fmt: skip
    p.add_argument("--eval-limit", type=int, help="rows per benchmark (first N)")
    p.add_argument("--distill-contexts", type=int,
                   help="then one self-distillation round from this many fresh sources (0 = off; needs --benchmark)")  # fmt: skip
    p.add_argument("--background", action="store_true", help="only queue the loop for a worker")
    p.set_defaults(handler=cmd_loop)


def thresholds(items: list[str], task: str) -> dict[str, float | None]:
    """``["embed=0.7", "rouge_l=off"]`` -> ``{"embed_cosine": 0.7, "rouge_l": None}``."""
    from curation.recipe import parse_thresholds

    out: dict[str, float | None] = {}
    for item in items:
        name, _, raw = item.partition("=")
        if raw.strip().lower() in ("off", "none"):
            out.update(dict.fromkeys(parse_thresholds([f"{name}=0"], task), None))
        else:
            out.update(parse_thresholds([item], task))
    return out


def loop_overrides(args: argparse.Namespace) -> dict[str, Any]:
    task = args.task or "paraphrase"
    return {
        "task": args.task, "corpus": args.corpus, "contexts": args.contexts, "samples": args.samples,
        "teacher": args.teacher, "backend": args.backend, "student": args.student, "seed": args.seed, "nli": args.nli,
        "embedder": None if args.embedder is None else ("" if args.embedder == "none" else args.embedder),
        "labels": args.labels, "labels_format": args.labels_format, "learned_min": args.learned_min, "eval_limit": args.eval_limit,
        "distill_contexts": args.distill_contexts,
        "min": thresholds(args.min, task) or None, "max": thresholds(args.max, task) or None,
        "epochs": args.epochs, "max_steps": args.max_steps,
        "benchmarks": [{"path": b, "format": "auto", "limit": None} for b in args.benchmark] or None,
    }  # fmt: skip


def _unfinished(engine, params: dict[str, Any]) -> dict[str, Any] | None:
    """The newest loop job with exactly these settings that has not finished."""
    return next(
        (j for j in job_rows.recent(engine, 200)
         if j["kind"] == "loop" and j["params"] == params and j["status"] != "done"),
        None,
    )  # fmt: skip


def cmd_loop(args: argparse.Namespace) -> int:
    from pipeline.loop_job import loop_params, loop_summary, summary_lines

    engine = connect(args.db)
    overrides = {k: v for k, v in loop_overrides(args).items() if v is not None}
    loop_params(args.preset, overrides)  # refuse a bad setting before queueing anything
    params = {"preset": args.preset, **overrides}
    found = _unfinished(engine, params)
    if found is not None:
        job_id = found["id"]
        job_rows.requeue(engine, job_id)
        print(f"resuming loop job {job_id} ({found['status']})", flush=True)
    else:
        job_id = job_rows.submit(engine, "loop", params)
        print(f"loop job {job_id} (preset {args.preset})", flush=True)
    if args.background:
        print(f"queued loop job {job_id}; a worker (`impossible worker` or the studio) will run it")
        return 0
    status = runner.run_job(engine, job_id)
    print("\n".join(summary_lines(loop_summary(engine, job_id))))
    if status != "done":  # the exit-code rule of every job command (``cli.submit``)
        row = job_rows.get(engine, job_id)
        print(f"loop job {job_id}: {status}\nerror: {(row['error'] or status).strip().splitlines()[0]}")
    return exit_code(status)
