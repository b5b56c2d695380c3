"""``impossible generate``: sample contexts, k first sentences per context, and candidate pairs."""

from __future__ import annotations

import argparse

from cli import add_db_argument
from cli.executor_args import add_executor_arguments, check_ray_reachable, executor_params
from pipeline.types import BACKENDS

DEFAULT_SAMPLES = 16


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
    p.add_argument(
        "--task", choices=("paraphrase", "summary"), default="paraphrase", help="default paraphrase"
    )
    p.add_argument(
        "--contexts",
        type=int,
        default=None,
        help="contexts to sample (default 20); with --corpus, the most to use (default: all)",
    )
    p.add_argument(
        "--samples", type=int, default=DEFAULT_SAMPLES, help="k: samples per context, 2-1000 (default 16)"
    )
    p.add_argument(
        "--corpus", default=None, help="your own contexts: a .txt (one per line or paragraph) or .jsonl"
    )
    p.add_argument(
        "--teacher",
        default="embedded",
        help="Hugging Face id, local folder, .gguf file, or 'embedded' (default)",
    )
    p.add_argument(
        "--temperature", type=float, default=0.5, help="sampling temperature, 0.01-5 (default 0.5)"
    )
    p.add_argument("--top-p", type=float, default=0.9, help="nucleus sampling mass (default 0.9)")
    p.add_argument("--top-k", type=int, default=50, help="top-k applied before top-p; 0 = off (default 50)")
    p.add_argument(
        "--no-repeat-ngram-size", type=int, default=3, help="ban repeated n-grams; 0 = off (default 3)"
    )
    p.add_argument("--max-new-tokens", type=int, default=60, help="cap per sample, 1-2048 (default 60)")
    p.add_argument(
        "--context-temperature",
        type=float,
        default=1.0,
        help="temperature for sampling contexts (default 1.0)",
    )
    p.add_argument("--seed", type=int, default=0, help="context i samples with seed + i (default 0)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, or cuda[:n]")
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="teacher decoding engine: auto (ctranslate2 on CPU, vllm on CUDA when installed, else torch)",
    )
    p.add_argument(
        "--batch-contexts", type=int, default=4, help="contexts decoded together per batch (default 4)"
    )
    p.add_argument("--round", type=int, default=0, help="self-distillation round recorded on every row")
    add_executor_arguments(p)
    p.add_argument("--background", action="store_true", help="only queue the job for `impossible worker`")
    p.set_defaults(handler=cmd_generate)


def params_from_args(args: argparse.Namespace) -> dict:
    """The job's parameters as the user gave them (validated by ``pipeline.generate_params``)."""
    return {
        "teacher": args.teacher,
        "task": args.task,
        "contexts": args.contexts,
        "corpus": args.corpus,
        "samples": args.samples,
        "temperature": args.temperature,
        "top_p": args.top_p,
        "top_k": args.top_k,
        "no_repeat_ngram_size": args.no_repeat_ngram_size,
        "max_new_tokens": args.max_new_tokens,
        "context_temperature": args.context_temperature,
        "seed": args.seed,
        "device": args.device,
        "backend": args.backend,
        "batch_contexts": args.batch_contexts,
        "round": args.round,
        **executor_params(args),
    }


def cmd_generate(args: argparse.Namespace) -> int:
    from db import connect, display_url
    from db import jobs as job_rows
    from models.availability import check_model
    from pipeline import runner
    from pipeline.generate_params import validate_submission

    params = validate_submission(params_from_args(args))  # the corpus is read before anything is queued
    check_model("teacher", params["teacher"])
    if not args.background:
        check_ray_reachable(params)
    engine = connect(args.db)
    job_id = job_rows.submit(engine, "generate", params)
    print(f"job {job_id}", flush=True)
    if args.background:
        print(f"queued; run `impossible worker --db {display_url(args.db)}` to process it")
        return 0
    status = runner.run_job(engine, job_id)
    row = job_rows.get(engine, job_id)
    print(f"job {job_id}: {status} ({row['progress_done']}/{row['progress_total']} contexts)")
    if status == "failed" and row["error"]:
        print(f"error: {row['error'].splitlines()[0]}")
    return 0 if status == "done" else 1
