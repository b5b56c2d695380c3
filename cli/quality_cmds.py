"""Which critic to trust: ``agreement`` (each critic against your labels), ``critic train`` (a critic
learned from them) and ``report`` (a dataset quality report for a version)."""

from __future__ import annotations

import argparse

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


def cmd_agreement(args: argparse.Namespace) -> int:
    from curation.agreement import agreement, agreement_table

    engine = connect(args.db)
    rows = agreement(engine, recipe_for(engine, args), target=args.target_precision, samples=args.bootstrap)
    first = rows[0]
    print(f"{args.task}: {first['labelled']} labelled pairs")
    print(agreement_table(rows, args.target_precision))
    return 0
