"""The ``impossible`` command: the same verbs as the studio, for headless and cluster runs.

Each module in this package adds its subcommands through ``register(subparsers)``; a handler gets the
parsed arguments and returns an exit code. Errors the user can fix print one clear sentence, not a
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from db import DEFAULT_URL, DatabaseError

COMMAND_MODULES = (
    "cli.generate_cmds",
    "cli.score_cmds",
    "cli.curation_cmds",
    "cli.quality_cmds",
    "cli.student_cmds",
    "cli.jobs_cmds",
    "cli.demo_cmds",
)


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=DEFAULT_URL,
        help=f"any SQLAlchemy URL, or a file path for SQLite (default: {DEFAULT_URL})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="impossible",
        description="Impossible Distillation Studio: generate, score, curate and export paraphrase/summary pairs.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # a command group not built yet
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    from pipeline.runner import UserError

    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    try:
        return int(args.handler(args) or 0)
    except (UserError, DatabaseError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "interrupted: committed batches are kept; rerun or `impossible resume` to continue.",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
