"""Where a job's work units run: ``local`` (the job's own process, the default) or ``ray`` (actors on a Ray
cluster, ``pipeline.ray_executor``). This module only validates the three parameters; it never imports ray.

==============  =========  ===================================================================================
key             default    meaning
==============  =========  ===================================================================================
executor        "local"    ``local`` or ``ray``
ray_address     null       the cluster to join (``auto``, ``HOST:6379``, ``ray://HOST:10001``); null = the
                           cluster ``ray start`` runs on this machine, else a Ray started for the job here
ray_workers     0          actors to start; 0 = one per GPU of the cluster, else one per CPU
==============  =========  ===================================================================================
"""

from __future__ import annotations

from typing import Any

from pipeline.runner import UserError

EXECUTORS = ("local", "ray")
DEFAULTS: dict[str, Any] = {"executor": "local", "ray_address": None, "ray_workers": 0}
MAX_WORKERS = 10_000
MAX_ADDRESS_CHARS = 500


def validate_executor(params: dict[str, Any]) -> dict[str, Any]:
    """The three executor keys of ``params`` with defaults filled in; ``UserError`` names a bad one."""
    p = {key: params.get(key, default) for key, default in DEFAULTS.items()}
    p["executor"] = p["executor"] or "local"
    if p["executor"] not in EXECUTORS:
        raise UserError(f"Unknown executor {p['executor']!r:.80}; use one of: {', '.join(EXECUTORS)}.")
    address = p["ray_address"]
    if address is not None:
        if not isinstance(address, str) or len(address) > MAX_ADDRESS_CHARS:
            raise UserError(
                f"ray_address must be a Ray address such as auto or HOST:6379, got {address!r:.80}."
            )
        if any(ord(ch) < 33 for ch in address):
            raise UserError(f"ray_address {address!r:.80} holds a space or a control character.")
        p["ray_address"] = address or None
    workers = p["ray_workers"]
    if workers is None:
        p["ray_workers"] = 0
    elif not isinstance(workers, int) or isinstance(workers, bool) or not 0 <= workers <= MAX_WORKERS:
        raise UserError(f"ray_workers must be a whole number from 0 to {MAX_WORKERS:,}, got {workers!r:.80}.")
    return p
