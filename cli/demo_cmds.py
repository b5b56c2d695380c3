"""``impossible demo``: a small end-to-end run on the embedded models, for a first look on a fresh clone."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from cli import add_db_argument
from cli.submit import exit_code, submit
from db import connect


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo",
        help="generate, score, summarise and export a small dataset with the embedded models (a few minutes on CPU)",
    )
    add_db_argument(p)
    p.add_argument("--task", choices=("paraphrase", "summary"), default="paraphrase")
    p.add_argument("--contexts", type=int, default=6, help="teacher-sampled contexts (default 6)")
    p.add_argument("--samples", type=int, default=16, help="continuations per context (default 16)")
    p.add_argument(
        "--out", type=Path, default=Path("demo_pairs.jsonl"), help="where to export the curated pairs"
    )
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=cmd_demo)


def _run(engine, db_url: str, kind: str, params: dict) -> str:
    """Run one job here through the CLI's one submit path; print how long it took; return its status."""
    started = time.perf_counter()
    print(f"[{kind}] ...", flush=True)
    job_id, status = submit(engine, db_url, kind, params, background=False)
    print(f"[{kind}] job {job_id} {status} in {time.perf_counter() - started:.0f}s", flush=True)
    return status


def cmd_demo(args: argparse.Namespace) -> int:
    from curation.export import export_jsonl
    from curation.select import default_recipe, semantic_critic
    from curation.stats import stats_report

    engine = connect(args.db)
    status = _run(
        engine,
        args.db,
        "generate",
        {
            "teacher": "embedded",
            "task": args.task,
            "contexts": args.contexts,
            "samples": args.samples,
            "seed": args.seed,
        },
    )
    if status == "done":
        status = _run(engine, args.db, "score", {"nli": None, "embedder": "embedded"})
    if status != "done":
        return exit_code(status)
    print()
    print(stats_report(engine))
    recipe = default_recipe(engine, args.task)
    count = export_jsonl(engine, args.out, recipe=recipe)
    print(f"\nsemantic critic: {semantic_critic(engine)}")
    print(f"exported {count} curated pairs to {args.out} (recipe {recipe.hash})")
    if count == 0:
        print(
            "no pair passed the default recipe: a 135M teacher on a few contexts rarely makes one (the paper "
            "sees about one pair per context at scale, with an NLI critic). The table above shows what each "
            "threshold removes and what one step looser would add; try more --contexts, an --nli model, or "
            "looser thresholds (e.g. impossible export --min embed=0.75)."
        )
    print("next: `make run` opens the studio on this data with `--db` pointing here, or `impossible --help`.")
    return 0
