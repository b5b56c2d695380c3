"""The ``impossible`` command: the same verbs as the studio, for headless and cluster runs.

Each module in this package adds its subcommands through ``register(subparsers)``; a handler gets the
parsed arguments and returns an exit code. Errors the user can fix print one clear sentence, not a
traceback.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys

from sqlalchemy.exc import SQLAlchemyError

from db import DEFAULT_URL, DatabaseError, describe_error, resolve_url
from db.engine import DB_ENV  # the database URL when ``--db`` is not given


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=os.environ.get(DB_ENV) or DEFAULT_URL,
        help=f"any SQLAlchemy URL, or a file path for SQLite (default: ${DB_ENV}, else {DEFAULT_URL})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="impossible",
        description="Impossible Distillation Studio: generate, score, curate and export paraphrase/summary pairs.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    # Imported here, not at the top: every command module imports ``add_db_argument`` from this one.
    from cli import (
        curation_cmds,
        demo_cmds,
        generate_cmds,
        jobs_cmds,
        loop_cmds,
        quality_cmds,
        score_cmds,
        student_cmds,
    )

    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (
        generate_cmds,
        score_cmds,
        curation_cmds,
        quality_cmds,
        student_cmds,
        jobs_cmds,
        demo_cmds,
        loop_cmds,
    ):
        module.register(subparsers)
    return parser


def describe_os_error(exc: OSError) -> str:
    """One line for a failed file operation (disk full, permission, name too long, ...)."""
    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno == errno.ENOSPC:
        return f"Disk full{where}: free some space and run the command again (committed work is kept)."
    return f"{exc.strerror or exc}{where}."


def main(argv: list[str] | None = None) -> int:
    from pipeline.runner import UserError

    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "db", None):  # once, at start: a relative SQLite path means this folder's file
        args.db = resolve_url(args.db)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    try:
        return int(args.handler(args) or 0)
    except (UserError, DatabaseError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:  # the statement and its row data go to the debug log only
        logging.debug("database error", exc_info=True)
        print(f"error: {describe_error(exc)}", file=sys.stderr)
        return 1
    except OSError as exc:
        logging.debug("file error", exc_info=True)
        print(f"error: {describe_os_error(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "interrupted: committed batches are kept; rerun or `impossible resume` to continue.",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
