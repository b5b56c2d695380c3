"""Impossible Distillation Studio: ``python app.py --db sqlite:///studio.db`` opens it on 127.0.0.1:7860.

This file only parses arguments, applies the safety rules (loopback unless a password is set, never a
public share link), starts the job worker process and launches the Gradio app built by ``ui.build_app``.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from db import DEFAULT_URL, DatabaseError, connect, resolve_url

AUTH_ENV = "IMPOSSIBLE_AUTH"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Impossible Distillation Studio (a Gradio web app).")
    p.add_argument(
        "--db", default=DEFAULT_URL, help=f"SQLAlchemy URL or SQLite file (default: {DEFAULT_URL})"
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)"
    )
    p.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    p.add_argument(
        "--auth",
        default=None,
        help=f"user:password required to open the studio; needed for a non-loopback --host (or set {AUTH_ENV})",
    )
    p.add_argument(
        "--export-dir", default="exports", help="folder that JSONL exports are written to (default: exports)"
    )
    p.add_argument(
        "--data-dir",
        action="append",
        default=None,
        help="a folder whose models and benchmarks the studio may read (repeatable; default: data beside "
        "the export folder; the Hugging Face cache is always allowed)",
    )
    p.add_argument(
        "--max-upload-mb", type=float, default=50, help="largest upload accepted, in MB (default: 50)"
    )
    p.add_argument(
        "--no-worker",
        action="store_true",
        help="do not start a job worker (run `impossible worker` yourself)",
    )
    return p.parse_args(argv)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """``user:password`` -> (user, password); raise ValueError on anything else."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ValueError("--auth must look like user:password (both parts non-empty).")
    return user, password


def resolve_auth(cli_value: str | None) -> tuple[str, str] | None:
    """The password from ``--auth``, else from the environment variable, else none."""
    return parse_auth(cli_value or os.environ.get(AUTH_ENV))


def check_safety(host: str, auth: tuple[str, str] | None) -> None:
    """Refuse to serve beyond this machine without a password."""
    if not is_loopback(host) and auth is None:
        raise ValueError(
            f"Refusing to listen on {host} without a password: anyone on the network could use the studio. "
            f"Pass --auth user:password (or set {AUTH_ENV}=user:password), or use --host 127.0.0.1."
        )


def warm_score_frame(engine) -> threading.Thread:
    """Load the Curate page's in-memory score arrays in the background while the server starts."""
    from curation.frame import get_frame

    thread = threading.Thread(target=get_frame, args=(engine,), name="warm-score-frame", daemon=True)
    thread.start()
    return thread


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.db = resolve_url(args.db)  # once, at start: the worker opens the same file from any folder
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        auth = resolve_auth(args.auth)
        check_safety(args.host, auth)
        engine = connect(args.db)
    except (ValueError, DatabaseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    from ui import build_app, launch_options
    from ui.context import AppContext
    from ui.worker import WorkerProcess

    ctx = AppContext(
        db_url=args.db,
        engine=engine,
        export_dir=Path(args.export_dir),
        max_upload_bytes=int(args.max_upload_mb * 2**20),
        data_dirs=[Path(d) for d in args.data_dir or []],
    )
    if not args.no_worker:
        ctx.worker = WorkerProcess(args.db, engine=engine).start()
        # `kill <pid>` must not orphan the worker: turn SIGTERM into a normal exit so `finally` stops it
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    warm_score_frame(engine)
    # quiet: Gradio's banner suggests `share=True`, which the studio never uses; say where it runs instead
    print(f"Impossible Distillation Studio on http://{args.host}:{args.port}/ (Ctrl+C stops it)", flush=True)
    try:
        build_app(ctx).launch(
            server_name=args.host, server_port=args.port, auth=auth, quiet=True, **launch_options(ctx)
        )
    finally:
        if ctx.worker:
            ctx.worker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
