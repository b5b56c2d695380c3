"""Curation verbs: ``stats``, ``export``, ``import``, ``version save|list|diff`` and ``label``.

They call the same ``curation`` functions as the studio, so a recipe gives the same pairs here and there.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cli import add_db_argument
from db import connect
from db.types import TASKS

THRESHOLD_HELP = (
    "NAME=VALUE, repeatable; names: nli (both directions; forward only for summary), nli_forward, "
    "nli_backward, rouge_l, length_ratio, numbers_ok, embed_cosine, embed. Overrides the default recipe."
)


def _add_recipe_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", choices=TASKS, default="paraphrase", help="which pairs (default paraphrase)")
    p.add_argument(
        "--min",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="keep scores >= VALUE; " + THRESHOLD_HELP,
    )
    p.add_argument(
        "--max",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="keep scores <= VALUE; " + THRESHOLD_HELP,
    )
    p.add_argument("--no-dedup", action="store_true", help="keep every pair of a duplicate group")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("stats", help="counts per stage, per critic, and yield per context")
    add_db_argument(p)
    _add_recipe_arguments(p)
    p.set_defaults(handler=cmd_stats)

    p = subparsers.add_parser(
        "export",
        help="write the curated pairs (or a saved version) to JSONL",
        description="Exports the pairs the recipe keeps: the default recipe (NLI thresholds when an NLI model "
        "scored the pairs, else embedding cosine) with your --min/--max overrides, dedup and human labels.",
    )
    add_db_argument(p)
    p.add_argument("--out", type=Path, required=True, help="the JSONL file to write (replaced atomically)")
    _add_recipe_arguments(p)
    p.add_argument(
        "--version", default=None, metavar="NAME", help="export a saved version instead of a recipe"
    )
    p.set_defaults(handler=cmd_export)

    p = subparsers.add_parser(
        "import",
        help="add pairs (and human labels) from a file (every line validated first; scored later by `score`)",
    )
    add_db_argument(p)
    p.add_argument(
        "file",
        type=Path,
        help='JSONL with {"source", "target"[, "task", "scores", "provenance", "label", "note"]}, '
        "or an MRPC / SICK TSV with --format",
    )
    p.add_argument(
        "--format",
        choices=("jsonl", "mrpc", "sick"),
        default="jsonl",
        help="jsonl (default); mrpc: quality 1/0 -> accept/reject, sentence1 = source; "
        "sick: ENTAILMENT -> accept, NEUTRAL/CONTRADICTION -> reject",
    )
    p.add_argument(
        "--task", choices=TASKS, default=None, help="task for lines without one (default paraphrase)"
    )
    p.set_defaults(handler=cmd_import)

    version = subparsers.add_parser("version", help="save, list and compare named dataset versions")
    verbs = version.add_subparsers(dest="version_command", metavar="VERB", required=True)
    p = verbs.add_parser(
        "save", help="freeze the recipe's current selection (human labels included) under a name"
    )
    add_db_argument(p)
    p.add_argument("--name", required=True)
    _add_recipe_arguments(p)
    p.set_defaults(handler=cmd_version_save)
    p = verbs.add_parser("list", help="every version: id, name, pairs, recipe hash, time")
    add_db_argument(p)
    p.set_defaults(handler=cmd_version_list)
    p = verbs.add_parser("diff", help="pairs added and removed from version A to version B")
    add_db_argument(p)
    p.add_argument("a", help="name or id of the older version")
    p.add_argument("b", help="name or id of the newer version")
    p.add_argument("--sample", type=int, default=3, help="example pairs to show per side (default 3)")
    p.set_defaults(handler=cmd_version_diff)

    p = subparsers.add_parser(
        "label", help="accept or reject a pair by hand (overrides the critics), or clear it"
    )
    add_db_argument(p)
    p.add_argument("pair_id", type=int)
    p.add_argument("decision", choices=("accept", "reject", "clear"))
    p.add_argument("--note", default="", help="why (kept with the label)")
    p.set_defaults(handler=cmd_label)


def recipe_for(engine, args: argparse.Namespace):
    """The default recipe of ``args.task`` (semantic critic chosen from the data) with the user's overrides."""
    from curation.recipe import recipe_from_args
    from curation.select import default_semantic

    semantic = default_semantic(engine, args.task)
    return recipe_from_args(args.task, args.min, args.max, dedup=not args.no_dedup, semantic=semantic)


def cmd_stats(args: argparse.Namespace) -> int:
    from curation.stats import stats_report

    engine = connect(args.db)
    print(stats_report(engine, recipe_for(engine, args)))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from curation.export import export_jsonl
    from curation.select import semantic_critic
    from curation.versions import get_version

    engine = connect(args.db)
    if args.version is not None:
        if args.min or args.max or args.no_dedup:
            raise ValueError(
                "--version exports a frozen version; drop --min/--max/--no-dedup or drop --version."
            )
        version = get_version(engine, args.version)
        count = export_jsonl(engine, args.out, version=args.version)
        print(
            f"exported {count} pairs of version {version['name']} to {args.out} (recipe {version['recipe_hash']})"
        )
        return 0
    recipe = recipe_for(engine, args)
    count = export_jsonl(engine, args.out, recipe=recipe)
    print(f"semantic critic: {semantic_critic(engine, args.task)}")
    print(f"exported {count} pairs to {args.out} (recipe {recipe.hash})")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from curation.importing import import_labelled

    result = import_labelled(connect(args.db), args.file, fmt=args.format, task=args.task)
    print(
        f"imported {result['inserted']} new pairs from {result['file']} "
        f"({result['duplicates']} already present); run `impossible score` to score them"
    )
    if result["accepted"] or result["rejected"]:
        print(f"human labels: {result['accepted']} accept, {result['rejected']} reject")
    return 0


def cmd_version_save(args: argparse.Namespace) -> int:
    from curation.versions import save_version

    engine = connect(args.db)
    version = save_version(engine, args.name, recipe_for(engine, args))
    print(
        f"saved version {version['name']} (id {version['id']}): {version['pair_count']} pairs, recipe {version['recipe_hash']}"
    )
    return 0


def cmd_version_list(args: argparse.Namespace) -> int:
    from curation.versions import list_versions

    versions = list_versions(connect(args.db))
    if not versions:
        print("no versions saved yet; `impossible version save --name NAME` freezes the current selection")
    for v in versions:
        print(
            f"{v['id']:>4}  {v['name']:<24} {v['pair_count']:>9} pairs  recipe {v['recipe_hash']}  {v['created_at']:%Y-%m-%d %H:%M}"
        )
    return 0


def cmd_version_diff(args: argparse.Namespace) -> int:
    from curation.versions import diff_versions

    diff = diff_versions(connect(args.db), args.a, args.b, sample=args.sample)
    a, b = diff["a"], diff["b"]
    print(f"{a['name']} ({a['pair_count']} pairs) -> {b['name']} ({b['pair_count']} pairs)")
    print(f"added {diff['added']}, removed {diff['removed']}, in both {diff['common']}")
    for change in diff["recipe_changes"]:
        print(f"  recipe: {change}")
    for sign, key in (("+", "added_sample"), ("-", "removed_sample")):
        for row in diff[key]:
            print(f"  {sign} [{row['id']}] {row['source']}  =>  {row['target']}")
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    from curation.review import set_label

    decision = None if args.decision == "clear" else args.decision
    set_label(connect(args.db), args.pair_id, decision, note=args.note)
    print(f"pair {args.pair_id}: {'label cleared' if decision is None else decision + 'ed'}")
    return 0
