"""Which critic to trust: ``agreement`` (each critic against your labels), ``critic train`` (a critic
learned from them) and ``report`` (a dataset quality report for a version)."""

from __future__ import annotations

import argparse
import sys

from cli import add_db_argument
from cli.curation_cmds import _add_recipe_arguments, recipe_for
from db import connect


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "agreement",
        help="ROC AUC (with a bootstrap 95%% interval), precision / recall and a cut for a target precision, "
        "per score column, against the human labels",
        description="Compares every score column with the human labels of a task (Review, `label`, or a "
        "labelled import). Precision and recall are at the recipe's threshold (default recipe with your "
        "--min/--max), among the labelled pairs the critic scored; unscored pairs are counted apart.",
    )
    add_db_argument(p)
    _add_recipe_arguments(p)
    p.add_argument(
        "--target-precision",
        type=float,
        default=0.9,
        help="find each critic's loosest cut whose precision reaches this (default 0.9)",
    )
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the interval")
    p.set_defaults(handler=cmd_agreement)

    critic = subparsers.add_parser("critic", help="train a critic on human labels")
    verbs = critic.add_subparsers(dest="critic_command", metavar="VERB", required=True)
    p = verbs.add_parser(
        "train",
        help="fit a regularised logistic regression on the labels (scores + embedder features) and save it",
        description="Learns p(accept) from the human labels in this database (or --from a labelled file) "
        "and saves it in --out; `impossible score --critic DIR` then fills the `learned` score column. "
        "Needs at least 20 labels, 5 of each kind.",
    )
    add_db_argument(p)
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write critic.json into")
    p.add_argument(
        "--from",
        dest="source",
        default=None,
        metavar="FILE",
        help="labelled file instead of the database's labels",
    )
    p.add_argument(
        "--format",
        choices=("jsonl", "mrpc", "sick"),
        default="jsonl",
        help="format of --from (default jsonl)",
    )
    p.add_argument("--task", choices=("paraphrase", "summary"), default="paraphrase")
    p.add_argument(
        "--embedder", default="embedded", help="sentence embedder for the features (default embedded)"
    )
    p.add_argument("--seed", type=int, default=0, help="cross-validation folds and solver seed (default 0)")
    p.add_argument("--device", default="auto")
    p.add_argument("--background", action="store_true", help="only queue the job for a worker")
    p.set_defaults(handler=cmd_critic_train)

    p = subparsers.add_parser(
        "report",
        help="dataset report of a version (pairs, lengths, CosSim, H2/H3, MSTTR, Jaccard, self-BLEU) "
        "beside the paper's DIMPLE row",
        description="Computed once per version and stored with it (--refresh computes it again).",
    )
    add_db_argument(p)
    p.add_argument("--version", required=True, metavar="NAME", help="version name or id")
    p.add_argument("--compare", default=None, metavar="NAME", help="a second version, side by side")
    p.add_argument("--refresh", action="store_true", help="recompute and store the report(s) again")
    p.set_defaults(handler=cmd_report)


def cmd_agreement(args: argparse.Namespace) -> int:
    from curation.agreement import agreement, agreement_table

    engine = connect(args.db)
    rows = agreement(engine, recipe_for(engine, args), target=args.target_precision, samples=args.bootstrap)
    first = rows[0]
    print(f"{args.task}: {first['labelled']} labelled pairs")
    print(agreement_table(rows, args.target_precision))
    return 0


def critic_params(args: argparse.Namespace) -> dict:
    """The ``critic`` job's parameters (checked before anything is queued)."""
    from pipeline.critic_job import check_params
    from pipeline.runner import UserError

    params = {
        "out": args.out,
        "from": args.source,
        "format": args.format,
        "task": args.task,
        "embedder": args.embedder,
        "seed": args.seed,
        "device": args.device,
    }
    try:
        check_params(params)
    except UserError as exc:
        raise ValueError(str(exc)) from exc
    return params


def cmd_critic_train(args: argparse.Namespace) -> int:
    from db import jobs as job_rows
    from pipeline import runner

    engine = connect(args.db)
    job_id = job_rows.submit(engine, "critic", critic_params(args))
    print(f"job {job_id}", flush=True)
    if args.background:
        print(f"queued; `impossible worker --db {args.db}` runs it")
        return 0
    status = runner.run_job(engine, job_id)
    row = job_rows.get(engine, job_id)
    if status != "done":
        print(f"error: {(row['error'] or status).splitlines()[0]}", file=sys.stderr)
        return 1
    from models.learned_critic import load_critic

    meta = load_critic(args.out).meta
    for name, auc in meta["candidates"].items():
        print(f"candidate {name}: cross-validated AUC {auc:.4f}")
    print(
        f"saved {meta['model']} to {args.out}: {meta['accepted']} accept / {meta['rejected']} reject labels, "
        f"{meta['features']} features, training set {meta['training_hash'][:12]}, {meta['train_seconds']}s"
    )
    print(f"cv_auc={meta['cv_auc']:.4f}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from curation.report import report_table, version_report

    engine = connect(args.db)
    names = [args.version] + ([args.compare] if args.compare else [])
    print(report_table([version_report(engine, name, refresh=args.refresh) for name in names]))
    return 0
