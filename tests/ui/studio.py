"""Launch the real studio for a test: a free port, the worker process, torn down afterwards."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ui import build_app, launch_options
from ui.context import AppContext
from ui.worker import WorkerProcess


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_studio(ctx: AppContext, *, worker: bool = True) -> Iterator[str]:
    """Serve the studio on 127.0.0.1 (and start its job worker); yield its URL."""
    if worker:
        ctx.worker = WorkerProcess(ctx.db_url, engine=ctx.engine, poll_s=0.3, check_every_s=0.5).start()
    app = build_app(ctx)
    port = free_port()
    app.launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_options(ctx)
    )
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()
        if ctx.worker:
            ctx.worker.stop()


def wait_for(
    condition: Callable[[], Any], timeout_s: float = 120.0, every_s: float = 0.5, what: str = ""
) -> Any:
    """Poll ``condition`` until it returns something truthy; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what or condition}")
