"""``impossible score``: run every critic on the pairs that still need it, then group duplicates."""

from __future__ import annotations

import argparse
from typing import Any

from cli import add_db_argument
from cli.executor_args import add_executor_arguments, check_ray_reachable, executor_params
from db import connect, display_url
from db import jobs as job_rows

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
    p.add_argument(
        "--nli",
        default=None,
        metavar="ID_OR_PATH",
        help="NLI classifier (hub id or folder), e.g. alisawuffles/roberta-large-wanli (default: none)",
    )
    p.add_argument(
        "--embedder",
        default="embedded",
        metavar="embedded|ID|none",
        help="sentence embedder: 'embedded' (all-MiniLM-L6-v2, default), a hub id or folder, or 'none'",
    )
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
    p.add_argument(
        "--critic",
        default=None,
        metavar="DIR",
        help="a learned critic's folder (`impossible critic train`): writes its p(accept) into `learned`",
    )
    p.add_argument(
        "--parser",
        default="auto",
        metavar="auto|link-grammar|none",
        help="constituency parser for the ted critic: 'auto' (link-grammar when installed, default), "
        "'link-grammar' (an error when missing) or 'none'",
    )
    p.add_argument("--batch-size", type=int, default=512, help="pairs per committed batch (default 512)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1, ...")
    p.add_argument(
        "--dedup-threshold",
        type=float,
        default=0.75,
        help="mutual entailment (or cosine without NLI) at which two sentences are the same (default 0.75)",
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
    from pipeline import runner

    params = score_params(args)
    if not args.background:
        check_ray_reachable(params)
    engine = connect(args.db)
    job_id = job_rows.submit(engine, "score", params)
    print(f"job {job_id}", flush=True)
    if args.background:
        shown = display_url(args.db)
        print(f"queued; `impossible worker --db {shown}` runs it, `impossible jobs --db {shown}` shows it")
        return 0
    status = runner.run_job(engine, job_id)
    row = job_rows.get(engine, job_id)
    print(f"job {job_id}: {status} ({row['progress_done']} pair-stage(s) scored)")
    if status != "done":
        print(f"error: {(row['error'] or '').splitlines()[0] if row['error'] else status}")
        return 1
    return 0
