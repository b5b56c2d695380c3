"""``impossible score``: run every critic on the pairs that still need it, then group duplicates."""

from __future__ import annotations

import argparse
from typing import Any

from cli import add_db_argument
from cli.executor_args import add_executor_arguments, check_ray_reachable, executor_params
from cli.submit import exit_code, submit
from db import connect, display_url
from db import jobs as job_rows
from pipeline.params import SCORE, add_flags

GATE_DEFAULTS = (
    "Pre-gate (pairs failing it get no model score): paraphrase 0.5 <= length_ratio <= 2.0 and "
    "rouge_l <= 0.9; summary length_ratio <= 1.0 and rouge_l <= 0.9; both embed_cosine >= 0.4 before NLI."
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "score",
        help="score pending pairs: length ratio, ROUGE-L, numbers, embedding cosine, tree edit distance, NLI; "
        "then dedup groups",
        description="Scores every pair whose score columns are still empty (a stored score is never "
        "recomputed) and regroups duplicates. Without --nli the semantic critic is embedding cosine only. "
        + GATE_DEFAULTS,
    )
    add_db_argument(p)
    add_flags(p, SCORE)  # --nli, --embedder, --batch-size, --device, --critic, --parser, --dedup-threshold
    p.add_argument(
        "--gate-min",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="raise or lower a pre-gate lower bound (repeatable; aliases as in export: embed, length, ...); "
        "NAME=none switches that check off",
    )
    p.add_argument(
        "--gate-max",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="the same for an upper bound, e.g. rouge_l=0.95 or length=none",
    )
    add_executor_arguments(p)
    p.add_argument(
        "--background",
        action="store_true",
        help="only queue the job (a running `impossible worker` or the studio picks it up)",
    )
    p.set_defaults(handler=cmd_score)


def parse_gate(items: list[str]) -> dict[str, float | None]:
    """``["rouge_l=0.9", "embed=none"]`` -> ``{"rouge_l": 0.9, "embed_cosine": None}``."""
    from curation.recipe import parse_thresholds

    out: dict[str, float | None] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if sep and raw.strip().lower() in ("none", "off"):
            out.update(dict.fromkeys(parse_thresholds([f"{name}=0"]), None))
        else:
            out.update(parse_thresholds([item]))
    return out


def score_params(args: argparse.Namespace) -> dict[str, Any]:
    """The job parameters for ``args`` (validated here so a typo fails before anything is queued)."""
    from pipeline.runner import UserError
    from pipeline.score_job import ScoreSettings, check_models

    gate = {bound: parse_gate(items) for bound, items in (("min", args.gate_min), ("max", args.gate_max))}
    params = {
        "nli": args.nli,
        "embedder": None if str(args.embedder).lower() == "none" else args.embedder,
        "gate": {bound: values for bound, values in gate.items() if values},
        "batch_size": args.batch_size,
        "device": args.device,
        "dedup_threshold": args.dedup_threshold,
        "parser": args.parser,
        **executor_params(args),
    }
    if args.critic:
        params["critic"] = args.critic
    try:
        settings = ScoreSettings.from_params(params)
    except UserError as exc:
        raise ValueError(str(exc)) from exc
    check_models(settings)
    return params


def cmd_score(args: argparse.Namespace) -> int:
    params = score_params(args)
    if not args.background:
        check_ray_reachable(params)
    engine = connect(args.db)
    job_id, status = submit(engine, args.db, "score", params, background=args.background)
    if status == "queued":
        print(f"`impossible jobs --db {display_url(args.db)}` shows its progress")
    if status == "done":
        print(f"job {job_id}: done ({job_rows.get(engine, job_id)['progress_done']} pair-stage(s) scored)")
    return exit_code(status)
